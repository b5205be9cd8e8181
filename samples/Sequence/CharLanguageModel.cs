// The --model charlm part of the Sequence sample: a character-level language model (Embedding -> LSTM -> Dense at
// every step) trained on the licence texts Debian's base-files package ships, then sampled one character at a time.
using System.Diagnostics;
using System.Text;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Samples;

/// <summary>
/// Trains a character-level LSTM language model and generates text with it. The text is every regular file (symlinks
/// skipped, so none is read twice) in <c>/usr/share/common-licenses</c>, which Debian's <c>base-files</c> package ships on
/// every Debian system: Apache-2.0, Artistic, BSD, CC0-1.0, GFDL-1.2, GFDL-1.3, GPL-1, GPL-2, GPL-3, LGPL-2, LGPL-2.1,
/// LGPL-3, MPL-1.1 and MPL-2.0, about 250 KB of English. Licence texts may be copied verbatim, which is all training does
/// with them; nothing is redistributed.
/// </summary>
internal static class CharLanguageModel
{
    private const string LicenseDirectory = "/usr/share/common-licenses";
    private const int Steps = 100;

    public static void Run(SampleOptions options, Device device)
    {
        int epochs = options.Epochs ?? 15;
        int batchSize = options.BatchSize ?? 64;
        float temperature = options.Temperature ?? 0.8f;
        string prompt = options.Prompt ?? "This License";

        // 1. Data: the texts, their characters as ids, and windows of 100 ids whose targets are the next 100 ids.
        //    The last 5% of the text is held out to measure validation perplexity on text the model never trained on.
        var (text, files) = ReadTexts(options.DataDirectory ?? LicenseDirectory);
        char[] vocabulary = [.. text.Distinct().Order()];
        var idOf = new Dictionary<char, int>();
        for (int i = 0; i < vocabulary.Length; i++)
        {
            idOf[vocabulary[i]] = i;
        }

        int[] ids = [.. text.Select(ch => idOf[ch])];
        int split = (int)(ids.Length * 0.95);
        var (trainX, trainY) = Windows(ids.AsSpan(0, split), device);
        var (validX, validY) = Windows(ids.AsSpan(split), device);
        Console.WriteLine($"{text.Length:N0} characters from {files.Count} files in {LicenseDirectory} (Debian base-files): {string.Join(", ", files)}");
        Console.WriteLine($"vocabulary {vocabulary.Length} characters; {trainX.Shape[0]} training and {validX.Shape[0]} validation windows of {Steps} steps");

        // 2. Model: an embedding per character, an LSTM that returns its output at every step, and logits over the
        //    vocabulary at every step (Dense applies to the last axis of [batch, time, 256]).
        Generator.ManualSeed(42);
        var embedding = new Embedding(vocabulary.Length, 64, inputShape: [Steps]);
        var lstm = new LSTM(256, returnSequences: true);
        var logits = new Dense(vocabulary.Length);
        var model = new Sequential([embedding, lstm, logits]) { Device = device };
        var train = new DataLoader(new TensorDataset(trainX, trainY), batchSize, shuffle: true, seed: 1, device: device);
        var validation = new DataLoader(new TensorDataset(validX, validY), 256, device: device);
        var optimizer = new Lepton.Nn.Optimizers.Adam(new Lepton.Nn.Optimizers.OneCycle(1e-2f, (long)epochs * train.Count, pctStart: 0.2f)) { GlobalClipNorm = 1f };
        model.Compile(optimizer, new SparseCategoricalCrossentropy(fromLogits: true)); // [B, T, vocab] logits, [B, T] labels
        model.Summary();

        // 3. Train: the loss is the mean cross-entropy over every step; its exponential is the perplexity.
        var total = Stopwatch.StartNew();
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var history = model.Fit(train, epochs: 1, validation: validation, verbose: 0);
            double seconds = history.EpochSeconds[0], loss = history["loss"][0], validLoss = history["val_loss"][0];
            Console.WriteLine($"epoch {epoch}/{epochs}: loss {loss:F3} (perplexity {Math.Exp(loss):F2}), validation loss {validLoss:F3} " +
                $"(perplexity {Math.Exp(validLoss):F2}), {seconds:F1} s, {trainX.Numel / seconds:N0} chars/s");
        }

        Console.WriteLine($"trained in {total.Elapsed.TotalSeconds:F1} s on {Lepton.Backends.Cpu.CpuBackend.Threads} CPU threads");

        // 4. Generate: feed the prompt once, then one character at a time, carrying the LSTM's h and c between steps.
        var clock = Stopwatch.StartNew();
        string generated = Generate(embedding, lstm, logits, prompt, 400, temperature, vocabulary, idOf, device);
        Console.WriteLine($"generated 400 characters at temperature {temperature} in {clock.Elapsed.TotalSeconds:F2} s:");
        Console.WriteLine(prompt + generated);
    }

    /// <summary>
    /// Samples <paramref name="count"/> characters after <paramref name="prompt"/>. The LSTM runs through
    /// <see cref="Tensor.Lstm"/> with the layer's own weights, which returns the final h and c, so each new character
    /// costs one step and not a pass over everything before it.
    /// </summary>
    private static string Generate(
        Embedding embedding, LSTM lstm, Dense logits, string prompt, int count, float temperature, char[] vocabulary,
        Dictionary<char, int> idOf, Device device)
    {
        var random = new Random(7);
        var output = new StringBuilder();
        using var noGrad = Tensor.NoGrad();
        Tensor? h = null, c = null;
        int[] input = [.. prompt.Select(ch => idOf.TryGetValue(ch, out int id) ? id : throw new ArgumentException(
            $"The prompt's character '{ch}' is not in the training text's vocabulary."))];
        for (int i = 0; i < count; i++)
        {
            using var scope = Tensor.NewScope();
            var x = embedding.Call(Tensor.FromArray(input, [1, input.Length], device: device));
            var (sequence, hNext, cNext) = Tensor.Lstm(x, lstm.Kernel.Value, lstm.RecurrentKernel.Value, lstm.Bias?.Value, null, h, c);
            float[] scores = logits.Call(hNext).ToArray(); // the last step's output is h
            h?.Dispose();
            c?.Dispose();
            (h, c) = (hNext.MoveToOuter(), cNext.MoveToOuter());
            int next = Sample(scores, temperature, random);
            output.Append(vocabulary[next]);
            input = [next];
        }

        h?.Dispose();
        c?.Dispose();
        return output.ToString();
    }

    /// <summary>Draws an index from softmax(scores / temperature).</summary>
    private static int Sample(float[] scores, float temperature, Random random)
    {
        double max = scores.Max(), sum = 0;
        var weights = new double[scores.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            weights[i] = Math.Exp((scores[i] - max) / temperature);
            sum += weights[i];
        }

        double u = random.NextDouble() * sum;
        for (int i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u <= 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }

    /// <summary>The regular files of <paramref name="directory"/> in name order (symlinks skipped), joined by blank lines.</summary>
    private static (string Text, List<string> Files) ReadTexts(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory} not found: it comes with Debian's base-files package; pass --data DIR with plain-text files elsewhere.");
        }

        var files = new List<string>();
        var text = new StringBuilder();
        foreach (var path in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
        {
            if (new FileInfo(path).LinkTarget is not null)
            {
                continue;
            }

            files.Add(Path.GetFileName(path));
            text.Append(File.ReadAllText(path)).Append("\n\n");
        }

        return (text.ToString(), files);
    }

    /// <summary>Inputs [N, 100] of consecutive ids every 100 ids, and targets [N, 100]: the same windows one id later.</summary>
    private static (Tensor X, Tensor Y) Windows(ReadOnlySpan<int> ids, Device device)
    {
        int count = (ids.Length - 1) / Steps;
        var x = new int[count * Steps];
        var y = new int[count * Steps];
        for (int n = 0; n < count; n++)
        {
            ids.Slice(n * Steps, Steps).CopyTo(x.AsSpan(n * Steps));
            ids.Slice((n * Steps) + 1, Steps).CopyTo(y.AsSpan(n * Steps));
        }

        return (Tensor.FromArray(x, [count, Steps], device: device), Tensor.FromArray(y, [count, Steps], device: device));
    }
}
