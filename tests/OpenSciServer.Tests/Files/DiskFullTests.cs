using System.Diagnostics;
using System.Net;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Files;

/// <summary>A full disk during an upload: 507, no temp file left, the old version intact. Uses a small tmpfs (needs root, as CI runs).</summary>
public sealed class DiskFullTests : IAsyncLifetime
{
    private readonly string _mount = Path.Combine(Path.GetTempPath(), "oss-test-tmpfs-" + Guid.NewGuid().ToString("N")[..8]);
    private PlatformFactory? _platform;

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root", "This test mounts a 4 MiB tmpfs and needs root (CI runs as root).");
        Directory.CreateDirectory(_mount);
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", _mount);
        _platform = new PlatformFactory();
        _platform.Settings["Files:RootVolumes:0:Name"] = "Storage";
        _platform.Settings["Files:RootVolumes:0:DefaultUserVolumes:0"] = "persistent";
        _platform.Settings["Files:RootVolumes:1:Name"] = "Temporary";
        _platform.Settings["Files:RootVolumes:1:Path"] = _mount;
        _platform.Settings["Files:RootVolumes:1:DefaultUserVolumes:0"] = "scratch";
        await _platform.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_platform is not null)
        {
            await _platform.DisposeAsync();
        }

        await RunAsync("umount", "-l", _mount);
        Directory.Delete(_mount);
    }

    [Fact]
    public async Task Upload_DiskFills_Returns507_NoTempLeft_OldVersionIntact()
    {
        var name = PlatformFactory.UniqueName("full");
        using var client = _platform!.CreateApiClient(await _platform.CreateUserAsync(name));
        var url = $"/api/files/content/Temporary/{name}/scratch/result.bin";
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync(url, new ByteArrayContent(new byte[100_000]))).StatusCode);

        var response = await client.PutAsync(url, new ByteArrayContent(new byte[8_000_000]));

        Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
        Assert.Contains("disk is full", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(100_000, (await client.GetByteArrayAsync(url)).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(_mount, ".oss-uploads")));
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {await process.StandardError.ReadToEndAsync()}");
    }
}
