// Damaged ONNX files (truncated, bits flipped, bytes overwritten): Model.LoadOnnx either builds a model
// (ONNX has no checksum, so a flipped weight bit is a valid file) or throws an error naming the file,
// never another exception.
using Google.Protobuf;
using Lepton.Nn;
using Lepton.Onnx.Proto;
using Lepton.Tests.Support;

namespace Lepton.Tests.Onnx;

public sealed class OnnxFuzzTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-onnx-fuzz-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Theory]
    [InlineData("resnet")]
    [InlineData("recurrent")]
    public void DamagedFilesLoadOrFailWithTheFileNamed(string file)
    {
        byte[] original = File.ReadAllBytes(OnnxImportTests.PyTorchFile(file));
        var rng = new Random(11);
        var failures = new List<string>();
        int rejected = 0;
        for (int i = 0; i < 120; i++)
        {
            var (name, bytes) = FuzzMutations.Bytes(original, rng, [0, 2, 8, 16, original.Length / 2, original.Length - 8], bigEndian: false);
            string path = Path.Combine(folder, $"{file}-f{i}.onnx");
            File.WriteAllBytes(path, bytes);
            try
            {
                using var model = Model.LoadOnnx(path);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException)
            {
                rejected++;
                if (!e.Message.Contains(path, StringComparison.Ordinal))
                {
                    failures.Add($"{i} ({name}): the message does not name the file: {e.Message}");
                }
            }
            catch (Exception e)
            {
                failures.Add($"{i} ({name}): {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(rejected > 20, $"only {rejected} of 120 damaged files were rejected");
    }

    [Theory]
    [InlineData("resnet")]
    [InlineData("recurrent")]
    public void DamagedGraphsLoadOrFailWithTheFileNamed(string file)
    {
        byte[] original = File.ReadAllBytes(OnnxImportTests.PyTorchFile(file));
        long[] values = [0, -1, 1, 2, 7, -7, 65536, int.MaxValue, long.MaxValue, long.MinValue];
        var rng = new Random(12);
        var failures = new List<string>();
        for (int i = 0; i < 150; i++)
        {
            var proto = ModelProto.Parser.ParseFrom(original);
            var graph = proto.Graph;
            string name;
            switch (rng.Next(6))
            {
                case 0:
                    {
                        var attributes = graph.Node.SelectMany(n => n.Attribute.Where(a => a.Type is AttributeProto.Types.AttributeType.Int or AttributeProto.Types.AttributeType.Ints)).ToList();
                        var a = attributes[rng.Next(attributes.Count)];
                        long v = values[rng.Next(values.Length)];
                        if (a.Ints.Count > 0)
                        {
                            a.Ints[rng.Next(a.Ints.Count)] = v;
                        }
                        else
                        {
                            a.I = v;
                        }

                        name = $"attribute {a.Name} = {v}";
                        break;
                    }

                case 1:
                    {
                        var t = graph.Initializer[rng.Next(graph.Initializer.Count)];
                        long v = values[rng.Next(values.Length)];
                        if (t.Dims.Count > 0)
                        {
                            t.Dims[rng.Next(t.Dims.Count)] = v;
                        }

                        name = $"dims of {t.Name} hold {v}";
                        break;
                    }

                case 2:
                    name = $"initializer {graph.Initializer[0].Name} removed";
                    graph.Initializer.RemoveAt(rng.Next(graph.Initializer.Count));
                    break;
                case 3:
                    {
                        int at = rng.Next(graph.Node.Count);
                        name = $"node {graph.Node[at].Name} removed";
                        graph.Node.RemoveAt(at);
                        break;
                    }

                case 4:
                    {
                        var readers = graph.Node.Where(n => n.Input.Count > 0).ToList();
                        var node = readers[rng.Next(readers.Count)];
                        var other = graph.Node[rng.Next(graph.Node.Count)];
                        node.Input[0] = other.Output[0];
                        name = $"{node.Name} reads {other.Output[0]}";
                        break;
                    }

                default:
                    {
                        var dims = graph.Input[0].Type.TensorType.Shape.Dim;
                        var dim = dims[rng.Next(dims.Count)];
                        dim.DimValue = values[rng.Next(values.Length)];
                        name = $"input dimension = {dim.DimValue}";
                        break;
                    }
            }

            string path = Path.Combine(folder, $"{file}-g{i}.onnx");
            File.WriteAllBytes(path, proto.ToByteArray());
            try
            {
                using var model = Model.LoadOnnx(path);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException)
            {
                if (!e.Message.Contains(path, StringComparison.Ordinal))
                {
                    failures.Add($"{i} ({name}): the message does not name the file: {e.Message}");
                }
            }
            catch (Exception e)
            {
                failures.Add($"{i} ({name}): {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
