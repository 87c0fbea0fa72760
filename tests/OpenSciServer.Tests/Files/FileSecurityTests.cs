using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Files;

/// <summary>SECURITY.md, "File service": each attack tried; nothing outside the volume is read, written or listed.</summary>
public sealed class FileSecurityTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    private const string Canary = "canary-outside-the-volume";

    [Theory]
    [InlineData("../../../../etc/passwd")]
    [InlineData("..\\..\\x")]
    [InlineData("%2e%2e%2f%2e%2e%2fsecret.txt")]
    [InlineData("%252e%252e%252fsecret.txt")]
    [InlineData("..%c0%af..%c0%afsecret.txt")]
    [InlineData("....//....//secret.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\x")]
    [InlineData("\\\\host\\share")]
    public async Task Traversal_InJsonFieldsAndPaths_IsRefused_NothingOutsideTouched(string evil)
    {
        var (name, client) = await NewUserAsync();
        var outside = PlantCanary(name);
        var volume = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{volume}/mine.txt", new StringContent("mine"));

        // An absolute path is given as the whole field; the others are appended to the volume.
        var target = evil.StartsWith('/') ? evil : $"{volume}/{evil}";
        var move = await client.PostAsJsonAsync("/api/files/move", new { from = $"{volume}/mine.txt", to = target });
        var copyOut = await client.PostAsJsonAsync("/api/files/copy", new { from = target, to = $"{volume}/stolen.txt" });
        var list = await client.GetAsync($"/api/files/list/{volume}/{Uri.EscapeDataString(evil)}");
        var read = await client.GetAsync($"/api/files/content/{volume}/{evil.Replace("\\", "%5C", StringComparison.Ordinal)}");

        foreach (var response in new[] { move, copyOut, list, read })
        {
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode}");
            Assert.DoesNotContain(Canary, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.DoesNotContain("root:x:0", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(Canary, await File.ReadAllTextAsync(outside));
        Assert.Equal("mine", await client.GetStringAsync($"/api/files/content/{volume}/mine.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/files/content/{volume}/stolen.txt")).StatusCode);
    }

    [Theory]
    [InlineData("nul\u0000name.txt")]
    [InlineData("line\nbreak.txt")]
    [InlineData("bell\u0007.txt")]
    public async Task ControlCharactersInNames_Return400_NeverATruncatedName(string bad)
    {
        var (name, client) = await NewUserAsync();
        var volume = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{volume}/ok.txt", new StringContent("x"));

        // In a JSON field (a URL cannot even carry NUL: the HTTP server refuses it first).
        var moved = await client.PostAsJsonAsync("/api/files/move", new { from = $"{volume}/ok.txt", to = $"{volume}/{bad}" });
        Assert.Equal(HttpStatusCode.BadRequest, moved.StatusCode);
        if (!bad.Contains('\0', StringComparison.Ordinal))
        {
            var put = await client.PutAsync($"/api/files/content/{volume}/{Uri.EscapeDataString(bad)}", new StringContent("x"));
            Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        }

        await client.DeleteAsync($"/api/files/entry/{volume}/ok.txt");
        var listing = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/Storage/{name}/persistent");
        Assert.Equal(0, listing.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task LongNamesAndDeepPaths_Return400_NoPartialFoldersLeft()
    {
        var (name, client) = await NewUserAsync();
        var volume = $"Storage/{name}/persistent";

        var longName = await client.PutAsync($"/api/files/content/{volume}/a/b/{new string('x', 300)}.txt", new StringContent("x"));
        var deep = await client.PutAsync($"/api/files/content/{volume}/{string.Join('/', Enumerable.Repeat("d", 70))}/f.txt", new StringContent("x"));
        var longFolder = await client.PutAsync($"/api/files/folder/{volume}/p/{new string('y', 256)}", null);

        Assert.Equal(HttpStatusCode.BadRequest, longName.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, deep.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, longFolder.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(VolumeFolder(name)));
    }

    [Fact]
    public async Task SymlinkOutOfTheVolume_IsNeverFollowed()
    {
        var (name, client) = await NewUserAsync();
        var (victim, victimClient) = await NewUserAsync();
        await victimClient.PutAsync($"/api/files/content/Storage/{victim}/persistent/private.txt", new StringContent("victim's secret"));
        var folder = VolumeFolder(name);
        // What a session or job running as the user could create on disk.
        File.CreateSymbolicLink(Path.Combine(folder, "etc"), "/etc");
        File.CreateSymbolicLink(Path.Combine(folder, "passwd"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(folder, "victim"), VolumeFolder(victim));
        var volume = $"Storage/{name}/persistent";

        var attempts = new Dictionary<string, HttpResponseMessage>
        {
            ["read a linked file"] = await client.GetAsync($"/api/files/content/{volume}/passwd"),
            ["read through a linked folder"] = await client.GetAsync($"/api/files/content/{volume}/etc/passwd"),
            ["read another user's file"] = await client.GetAsync($"/api/files/content/{volume}/victim/private.txt"),
            ["list a linked folder"] = await client.GetAsync($"/api/files/list/{volume}/victim"),
            ["write through a link"] = await client.PutAsync($"/api/files/content/{volume}/victim/planted.txt", new StringContent("x")),
            ["overwrite a link"] = await client.PutAsync($"/api/files/content/{volume}/passwd", new StringContent("x")),
            ["make a folder through a link"] = await client.PutAsync($"/api/files/folder/{volume}/victim/newdir", null),
            ["delete through a link"] = await client.DeleteAsync($"/api/files/entry/{volume}/victim/private.txt"),
            ["delete a link"] = await client.DeleteAsync($"/api/files/entry/{volume}/victim"),
            ["move out through a link"] = await client.PostAsJsonAsync("/api/files/move", new { from = $"{volume}/victim/private.txt", to = $"{volume}/got.txt" }),
            ["move into a link"] = await client.PostAsJsonAsync("/api/files/copy", new { from = $"{volume}/passwd", to = $"{volume}/copy.txt" }),
            ["zip a linked folder"] = await client.GetAsync($"/api/files/zip/{volume}/etc"),
            ["preview through a link"] = await client.GetAsync($"/api/files/preview/{volume}/victim/private.txt"),
        };

        foreach (var (what, response) in attempts)
        {
            Assert.True(response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{what}: {(int)response.StatusCode}");
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("root:x:0", body, StringComparison.Ordinal);
            Assert.DoesNotContain("victim's secret", body, StringComparison.Ordinal);
        }

        Assert.Equal("victim's secret", await victimClient.GetStringAsync($"/api/files/content/Storage/{victim}/persistent/private.txt"));
        Assert.False(File.Exists(Path.Combine(VolumeFolder(victim), "planted.txt")));
        Assert.False(Directory.Exists(Path.Combine(VolumeFolder(victim), "newdir")));
        // The parent listing leaves links out rather than following them.
        var listing = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/{volume}");
        Assert.Equal(0, listing.GetProperty("total").GetInt32());
        Assert.True(File.Exists("/etc/passwd"));
    }

    [Fact]
    public async Task ZipOfAFolder_LeavesLinksOut()
    {
        var (name, client) = await NewUserAsync();
        var volume = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{volume}/z/real.txt", new StringContent("real"));
        File.CreateSymbolicLink(Path.Combine(VolumeFolder(name), "z", "passwd"), "/etc/passwd");

        var zip = new System.IO.Compression.ZipArchive(new MemoryStream(await client.GetByteArrayAsync($"/api/files/zip/{volume}/z")));

        Assert.Equal(["real.txt"], zip.Entries.Select(e => e.FullName));
    }

    [Fact]
    public async Task ReadOnlyShare_ReadsButCannotWriteDeleteRenameOrCreate_RevokeIsImmediate()
    {
        var (owner, ownerClient) = await NewUserAsync();
        var (reader, readerClient) = await NewUserAsync();
        var volume = $"Storage/{owner}/persistent";
        await ownerClient.PutAsync($"/api/files/content/{volume}/shared.txt", new StringContent("for reading"));
        var id = (await ownerClient.GetFromJsonAsync<JsonElement>("/api/files/volumes")).GetProperty("mine").EnumerateArray()
            .Single(v => v.GetProperty("path").GetString() == volume).GetProperty("resourceId").GetGuid();
        Assert.Equal(HttpStatusCode.OK,
            (await ownerClient.PutAsJsonAsync($"/api/resources/{id}/privileges", new { type = "user", name = reader, actions = new[] { "read" } })).StatusCode);

        Assert.Equal("for reading", await readerClient.GetStringAsync($"/api/files/content/{volume}/shared.txt"));
        Assert.Contains((await readerClient.GetFromJsonAsync<JsonElement>("/api/files/volumes")).GetProperty("sharedWithMe").EnumerateArray(),
            v => v.GetProperty("path").GetString() == volume);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PutAsync($"/api/files/content/{volume}/shared.txt", new StringContent("changed"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PutAsync($"/api/files/content/{volume}/new.txt", new StringContent("new"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PutAsync($"/api/files/folder/{volume}/newdir", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.DeleteAsync($"/api/files/entry/{volume}/shared.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PostAsJsonAsync("/api/files/move", new { from = $"{volume}/shared.txt", to = $"{volume}/renamed.txt" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.PatchAsJsonAsync($"/api/files/volumes/Storage/{owner}/persistent", new { name = "mine-now" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readerClient.DeleteAsync($"/api/files/volumes/Storage/{owner}/persistent")).StatusCode);
        Assert.Equal("for reading", await ownerClient.GetStringAsync($"/api/files/content/{volume}/shared.txt"));
        Assert.Equal(["shared.txt"], (await ownerClient.GetFromJsonAsync<JsonElement>($"/api/files/list/{volume}")).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        await ownerClient.PutAsJsonAsync($"/api/resources/{id}/privileges", new { type = "user", name = reader, actions = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.NotFound, (await readerClient.GetAsync($"/api/files/content/{volume}/shared.txt")).StatusCode);
    }

    [Fact]
    public async Task Outsider_GetsTheSame404ForAnotherUsersVolumeAsForNone()
    {
        var (owner, ownerClient) = await NewUserAsync();
        var (_, outsider) = await NewUserAsync();
        await ownerClient.PutAsync($"/api/files/content/Storage/{owner}/persistent/x.txt", new StringContent("x"));

        var existing = await outsider.GetAsync($"/api/files/list/Storage/{owner}/persistent");
        var missing = await outsider.GetAsync("/api/files/list/Storage/nobody_here/persistent");

        Assert.Equal(HttpStatusCode.NotFound, existing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(
            (await missing.Content.ReadAsStringAsync()).Split("\"traceId\"")[0].Replace("nobody_here", "X", StringComparison.Ordinal),
            (await existing.Content.ReadAsStringAsync()).Split("\"traceId\"")[0].Replace(owner, "X", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QuotaExceededMidStream_Returns413_NoTempLeft_OldVersionIntact()
    {
        var (name, client) = await NewUserAsync();
        var volume = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{volume}/data.bin", new ByteArrayContent(new byte[1000]));
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var userId = (await client.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsJsonAsync($"/api/admin/quotas/{userId}/Storage", new { quotaBytes = 100_000 })).StatusCode);

        // Declared too large: refused before a byte is read.
        var declared = await client.PutAsync($"/api/files/content/{volume}/data.bin", new ByteArrayContent(new byte[200_000]));
        // No declared length (chunked): refused once the bytes pass the quota.
        var chunked = await client.PutAsync($"/api/files/content/{volume}/data.bin", new StreamContent(new UnknownLengthStream(200_000)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Contains("quota", await chunked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1000, (await client.GetByteArrayAsync($"/api/files/content/{volume}/data.bin")).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(platform.DataDirectory, "volumes", "Storage", ".oss-uploads")));
        var usage = await client.GetFromJsonAsync<JsonElement[]>("/api/files/usage");
        Assert.Equal(100_000, usage!.Single(u => u.GetProperty("rootVolume").GetString() == "Storage").GetProperty("bytesQuota").GetInt64());
    }

    [Fact]
    public async Task TwoUploadsToOnePathAtOnce_OneWinsWhole()
    {
        var (name, client) = await NewUserAsync();
        var url = $"/api/files/content/Storage/{name}/persistent/race.bin";
        var a = Enumerable.Repeat((byte)'a', 3_000_000).ToArray();
        var b = Enumerable.Repeat((byte)'b', 3_000_000).ToArray();

        var results = await Task.WhenAll(client.PutAsync(url, new ByteArrayContent(a)), client.PutAsync(url, new ByteArrayContent(b)));

        Assert.All(results, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict));
        var stored = await client.GetByteArrayAsync(url);
        Assert.True(stored.SequenceEqual(a) || stored.SequenceEqual(b), "the file is one upload whole, never a mix");
    }

    [Fact]
    public async Task DataVolume_ReadOnly_SharedWithPublic_EveryoneReadsNobodyWrites()
    {
        var folder = Path.Combine(platform.DataDirectory, "volumes", "Data", "erass1-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "README.txt"), "eRASS1 main catalogue");
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var dvName = Path.GetFileName(folder);
        var registered = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = dvName, path = folder, description = "eROSITA all-sky survey" });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var id = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resourceId").GetGuid();
        var (_, user) = await NewUserAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync($"/api/files/content/{dvName}/README.txt")).StatusCode);

        await admin.PutAsJsonAsync($"/api/resources/{id}/privileges", new { type = "group", name = "public", actions = new[] { "read" } });

        Assert.Equal("eRASS1 main catalogue", await user.GetStringAsync($"/api/files/content/{dvName}/README.txt"));
        Assert.Equal(HttpStatusCode.Forbidden, (await user.PutAsync($"/api/files/content/{dvName}/x.txt", new StringContent("x"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.DeleteAsync($"/api/files/entry/{dvName}/README.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PutAsync($"/api/files/content/{dvName}/x.txt", new StringContent("x"))).StatusCode);
        Assert.Contains((await user.GetFromJsonAsync<JsonElement>("/api/files/volumes")).GetProperty("dataVolumes").EnumerateArray(), d => d.GetProperty("name").GetString() == dvName);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = "etc", path = "/etc" })).StatusCode);
    }

    private async Task<(string Name, HttpClient Client)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("s");
        return (name, platform.CreateApiClient(await platform.CreateUserAsync(name)));
    }

    private string VolumeFolder(string user) => Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "persistent");

    private string PlantCanary(string user)
    {
        var path = Path.Combine(platform.DataDirectory, "volumes", "Storage", user, "secret.txt");
        File.WriteAllText(path, Canary);
        return path;
    }

    /// <summary>A body without a declared length, so the server cannot refuse it up front.</summary>
    private sealed class UnknownLengthStream(long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, _left);
            Array.Fill(buffer, (byte)'q', offset, n);
            _left -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
