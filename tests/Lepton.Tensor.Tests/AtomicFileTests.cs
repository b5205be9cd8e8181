// Atomic saves clean up after crashed ones: temporaries left behind are removed by the next save to the
// same path, while one that another save still holds open, and other files, stay.
using Lepton.IO;

namespace Lepton.Tests;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-atomic-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void ASaveRemovesTemporariesThatCrashedSavesLeftBehind()
    {
        string path = Path.Combine(folder, "model.lepton");
        string[] stale = [.. Enumerable.Range(0, 3).Select(_ => Path.Combine(folder, $".model.lepton.{Guid.NewGuid():N}.tmp"))];
        foreach (string file in stale)
        {
            File.WriteAllBytes(file, new byte[1000]);
        }

        string inProgress = Path.Combine(folder, $".model.lepton.{Guid.NewGuid():N}.tmp");
        string otherModel = Path.Combine(folder, $".other.lepton.{Guid.NewGuid():N}.tmp");
        string notOurs = Path.Combine(folder, ".model.lepton.backup.tmp");
        File.WriteAllText(otherModel, "another file's save");
        File.WriteAllText(notOurs, "a user's file");
        using (var writer = new FileStream(inProgress, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            AtomicFile.WriteAllText(path, "new");
            Assert.True(File.Exists(inProgress), "a temporary another save holds open was deleted");
        }

        Assert.Equal("new", File.ReadAllText(path));
        Assert.All(stale, file => Assert.False(File.Exists(file), $"{file} was left behind"));
        Assert.True(File.Exists(otherModel));
        Assert.True(File.Exists(notOurs));
    }
}
