using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Files;

/// <summary>A file past 4 GiB through the real server: streamed in constant memory, stored whole, readable at 64-bit offsets.</summary>
public sealed class LargeUploadTests : IAsyncLifetime
{
    private const long Size = (4L << 30) + 123_457; // just over 4 GiB, not a round number
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oss-test-large-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task UploadOver4GiB_StreamsInBoundedMemory_AndDownloadsAtHighOffsets()
    {
        await using var server = new ServerProcess(_data);
        await server.StartAsync();
        using var admin = await server.ClientAsync("admin", PlatformFactory.AdminPassword);
        (await admin.PostAsJsonAsync("/api/admin/users", new { username = "bigdata", email = "big@example.org", password = "a-good-long-password" })).EnsureSuccessStatusCode();
        using var client = await server.ClientAsync("bigdata", "a-good-long-password");
        // The user's Storage quota would refuse 4 GiB; Temporary has none.
        var url = "/api/files/content/Temporary/bigdata/scratch/huge.bin";
        var rssBefore = server.ResidentBytes();
        long rssPeak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                rssPeak = Math.Max(rssPeak, server.ResidentBytes());
                await Task.Delay(200);
            }
        });

        var content = new StreamContent(new PatternStream(Size), 1 << 20);
        content.Headers.ContentLength = Size;
        var response = await client.PutAsync(url, content);
        await sampling.CancelAsync();
        await sampler;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Size, new FileInfo(Path.Combine(_data, "volumes", "Temporary", "bigdata", "scratch", "huge.bin")).Length);
        Assert.True(rssPeak - rssBefore < 256L << 20, $"the server grew by {(rssPeak - rssBefore) >> 20} MiB while streaming {Size >> 20} MiB");

        foreach (var offset in new[] { 0L, (4L << 30) - 3, Size - 10 })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Range = new RangeHeaderValue(offset, Math.Min(offset + 9, Size - 1));
            var part = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
            var bytes = await part.Content.ReadAsByteArrayAsync();
            Assert.Equal(Enumerable.Range(0, bytes.Length).Select(i => PatternStream.ByteAt(offset + i)), bytes);
        }
    }

    /// <summary>A deterministic byte pattern of any length, generated on the fly.</summary>
    private sealed class PatternStream(long length) : Stream
    {
        private long _position;

        public static byte ByteAt(long position) => (byte)((position * 31 + (position >> 20)) % 251);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[i] = ByteAt(_position + i);
            }

            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
