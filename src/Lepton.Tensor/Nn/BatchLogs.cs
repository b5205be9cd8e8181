// One training batch's logs, read back from the device only when a value is looked at: the progress
// bar redraws at most every 100 ms and most callbacks ignore batch logs, so most steps never wait.
using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Lepton.Nn;

/// <summary>Loss and metrics after a batch, computed on first access.</summary>
/// <remarks>Values are those of the metrics when first read; read them inside the callback that receives them.</remarks>
internal sealed class BatchLogs(Model model, MeanMetric loss) : IReadOnlyDictionary<string, double>
{
    private Dictionary<string, double>? values;

    public int Count => Values.Count;

    public IEnumerable<string> Keys => Values.Keys;

    IEnumerable<double> IReadOnlyDictionary<string, double>.Values => Values.Values;

    private Dictionary<string, double> Values => values ??= model.CurrentLogs(loss);

    public double this[string key] => Values[key];

    public bool ContainsKey(string key) => Values.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value) => Values.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
