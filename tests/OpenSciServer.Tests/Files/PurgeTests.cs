using OpenSciServer.Files;

namespace OpenSciServer.Tests.Files;

/// <summary>The Temporary purge: old files go, recent ones stay, links are removed but never followed.</summary>
public sealed class PurgeTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "oss-test-purge-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _outside = Path.Combine(Path.GetTempPath(), "oss-test-purge-outside-" + Guid.NewGuid().ToString("N")[..8]);
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public void OldFiles_DeletesOnlyFilesUntouchedSinceTheCutoff_AndNeverFollowsLinks()
    {
        var scratch = Directory.CreateDirectory(Path.Combine(_root, "alice", "scratch", "run")).FullName;
        var old = Write(Path.Combine(scratch, "old.dat"), Now.AddDays(-40));
        var fresh = Write(Path.Combine(scratch, "fresh.dat"), Now.AddDays(-2));
        Directory.CreateDirectory(_outside);
        var precious = Write(Path.Combine(_outside, "precious.dat"), Now.AddDays(-400));
        File.CreateSymbolicLink(Path.Combine(scratch, "elsewhere"), _outside);
        var uploads = Directory.CreateDirectory(Path.Combine(_root, VolumeService.UploadFolderName)).FullName;
        var part = Write(Path.Combine(uploads, "res-1.part"), Now.AddDays(-40));

        var removed = Purge.OldFiles(_root, Now.AddDays(-30), CancellationToken.None);

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(fresh));
        Assert.True(File.Exists(precious), "a link's target is never touched");
        Assert.True(File.Exists(part), "the platform's upload folder has its own lifetime");
        Assert.True(removed >= 1);
    }

    private static string Write(string path, DateTimeOffset modified)
    {
        File.WriteAllText(path, "x");
        File.SetLastWriteTimeUtc(path, modified.UtcDateTime);
        return path;
    }
}
