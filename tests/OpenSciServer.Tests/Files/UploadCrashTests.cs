using System.Net;
using System.Net.Http.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Files;

/// <summary>Nothing acknowledged is lost, nothing half-written is seen: the server killed (SIGKILL) mid-upload.</summary>
public sealed class UploadCrashTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-crash-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task KillDuringUpload_LeavesTheOldFile_AndTheTempFileIsCleanedOnStart()
    {
        const string user = "crashtest";
        var uploads = Path.Combine(_data, "volumes", "Storage", ".oss-uploads");
        var target = Path.Combine(_data, "volumes", "Storage", user, "persistent", "result.bin");
        await using (var server = new ServerProcess(_data))
        {
            await server.StartAsync();
            using var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword);
            (await admin.PostAsJsonAsync("/api/admin/users", new { username = user, email = "crash@example.org", password = "a-good-long-password" })).EnsureSuccessStatusCode();
            using var client = await server.ClientAsync(user, "a-good-long-password");
            (await client.PutAsync($"/api/files/content/Storage/{user}/persistent/result.bin", new ByteArrayContent(new byte[1000]))).EnsureSuccessStatusCode();

            // A 200 MB upload that sends 20 MB and then waits: the server is killed while it streams.
            var body = new StallingStream(200_000_000, stallAfter: 20_000_000);
            var upload = client.PutAsync($"/api/files/content/Storage/{user}/persistent/result.bin", new StreamContent(body));
            await WaitUntilAsync(() => Directory.Exists(uploads) && Directory.GetFiles(uploads).Any(f => new FileInfo(f).Length > 1_000_000));
            await server.KillAsync();
            body.Release();
            await Assert.ThrowsAnyAsync<Exception>(() => upload);

            Assert.Equal(1000, new FileInfo(target).Length); // the old version, whole
            Assert.NotEmpty(Directory.GetFiles(uploads)); // the crash left its temp file behind
        }

        await using (var restarted = new ServerProcess(_data))
        {
            await restarted.StartAsync();
            await WaitUntilAsync(() => Directory.GetFiles(uploads).Length == 0);
            using var client = await restarted.ClientAsync(user, "a-good-long-password");
            Assert.Equal(1000, (await client.GetByteArrayAsync($"/api/files/content/Storage/{user}/persistent/result.bin")).Length);
        }
    }

    [Fact]
    public async Task KillRightAfterAnAcknowledgedUpload_KeepsTheWholeNewFile()
    {
        const string user = "acktest";
        var bytes = new byte[5_000_000];
        new Random(7).NextBytes(bytes);
        await using (var server = new ServerProcess(_data))
        {
            await server.StartAsync();
            using var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword);
            (await admin.PostAsJsonAsync("/api/admin/users", new { username = user, email = "ack@example.org", password = "a-good-long-password" })).EnsureSuccessStatusCode();
            using var client = await server.ClientAsync(user, "a-good-long-password");

            var response = await client.PutAsync($"/api/files/content/Storage/{user}/persistent/new.bin", new ByteArrayContent(bytes));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await server.KillAsync();
        }

        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(_data, "volumes", "Storage", user, "persistent", "new.bin")));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "the expected state was not reached within 30 s");
    }

    /// <summary>Sends bytes up to a point, then blocks until released.</summary>
    private sealed class StallingStream(long length, long stallAfter) : Stream
    {
        private readonly SemaphoreSlim _gate = new(0);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public void Release() => _gate.Release(int.MaxValue / 2);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= stallAfter)
            {
                await _gate.WaitAsync(cancellationToken);
                return 0;
            }

            var n = (int)Math.Min(buffer.Length, Math.Min(length, stallAfter) - _position);
            buffer.Span[..n].Fill((byte)'n');
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gate.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
