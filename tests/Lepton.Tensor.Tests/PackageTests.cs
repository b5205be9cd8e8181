// The NuGet package as users get it: pack the library, reference it from a fresh console project
// through a local folder feed, build that project and run a few training steps.
using System.Diagnostics;
using System.IO.Compression;

namespace Lepton.Tests;

public sealed class PackageTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("lepton-package-").FullName;

    // A version of its own per run: NuGet caches packages by version, so a fixed one would let a stale
    // package from an earlier run stand in for the one just packed.
    private readonly string version = $"0.0.1-test.{DateTime.UtcNow.Ticks}";

    public void Dispose()
    {
        Directory.Delete(work, recursive: true);
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(cache, "lepton.tensor", version);
        if (Directory.Exists(cached))
        {
            Directory.Delete(cached, recursive: true);
        }
    }

    [Fact]
    public void PackedLibraryTrainsFromAFreshProject()
    {
        string root = RepositoryRoot();
        string feed = Path.Combine(work, "feed");
        Run("dotnet", $"pack \"{Path.Combine(root, "src", "Lepton.Tensor", "Lepton.Tensor.csproj")}\" -c Release -o \"{feed}\" -p:Version={version}", root);
        string package = Path.Combine(feed, $"Lepton.Tensor.{version}.nupkg");
        Assert.True(File.Exists(package), $"dotnet pack did not produce {package}");
        using (var zip = ZipFile.OpenRead(package))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("lib/net10.0/Lepton.Tensor.dll", entries);
            Assert.Contains("lib/net10.0/Lepton.Tensor.xml", entries);
            Assert.Contains("lib/net10.0/Lepton.Kernels.dll", entries);
            Assert.Contains("README.md", entries);
            Assert.Contains("LICENSE", entries);
        }

        string app = Path.Combine(work, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "App.csproj"), $$"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Lepton.Tensor" Version="{{version}}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Lepton;
            using Lepton.Nn;
            using Lepton.Nn.Layers;
            using Lepton.Nn.Optimizers;

            var x = Tensor.RandN([128, 8], new Generator(1));
            var y = ((x.Sum([1]) > 0f) * 1f).Reshape(128, 1);
            var model = new Sequential([new InputLayer([8]), new Dense(16, activation: "relu"), new Dense(1, activation: "sigmoid")]);
            model.Compile(new Adam(0.05f), "binary_crossentropy", "accuracy");
            var history = model.Fit(x, y, epochs: 5, batchSize: 32, verbose: 0);
            Console.WriteLine($"first loss {history["loss"][0]:F4} last loss {history["loss"][^1]:F4}");

            // The GPU kernels ship in the package too: run the model's prediction through them.
            var cpu = model.Predict(x).ToArray();
            model.Device = Device.IlgpuCpu;
            var kernels = model.Predict(x).ToArray();
            Console.WriteLine($"largest cpu/ilgpu difference {cpu.Zip(kernels, (a, b) => MathF.Abs(a - b)).Max():E1}");
            return history["loss"][^1] < history["loss"][0] && cpu.Zip(kernels).All(p => MathF.Abs(p.First - p.Second) < 1e-5f) ? 0 : 1;
            """);
        Run("dotnet", "build -c Release", app);
        string output = Run("dotnet", "run -c Release --no-build", app);
        Assert.Contains("last loss", output);
        Assert.Contains("largest cpu/ilgpu difference", output);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lepton.Tensor.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Lepton.Tensor.sln) was not found above the test binaries.");
    }

    private static string Run(string file, string arguments, string directory)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // The test host's MSBuild settings must not leak into the child build.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k == "MSBuildSDKsPath" || k == "MSBuildExtensionsPath").ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{file} {arguments}' did not finish in 5 minutes.");
        }

        string output = stdout.Result + stderr.Result;
        Assert.True(process.ExitCode == 0, $"'{file} {arguments}' in {directory} failed with exit code {process.ExitCode}:\n{output}");
        return output;
    }
}
