using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Files;

/// <summary>The file service through its native API, as a scientist's script uses it, on both databases.</summary>
public abstract class FileApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task NewAccount_HasItsDefaultVolumes_OnDiskAndListed()
    {
        var (name, client) = await NewUserAsync();

        var volumes = await client.GetFromJsonAsync<JsonElement>("/api/files/volumes");

        var mine = volumes.GetProperty("mine").EnumerateArray().Select(v => v.GetProperty("path").GetString()).ToList();
        Assert.Equal([$"Storage/{name}/persistent", $"Temporary/{name}/jobs", $"Temporary/{name}/scratch"], mine);
        Assert.True(Directory.Exists(Path.Combine(platform.DataDirectory, "volumes", "Storage", name, "persistent")));
        Assert.True(Directory.Exists(Path.Combine(platform.DataDirectory, "volumes", "Temporary", name, "jobs")));
        var roots = volumes.GetProperty("rootVolumes").EnumerateArray().ToList();
        Assert.Equal(30, roots.Single(r => r.GetProperty("name").GetString() == "Temporary").GetProperty("purgeAfterDays").GetInt32());
    }

    [Fact]
    public async Task UploadListDownload_RoundTripsBytes_WithSizesAndTimes()
    {
        var (name, client) = await NewUserAsync();
        var bytes = RandomBytes(300_000);

        var put = await client.PutAsync($"/api/files/content/Storage/{name}/persistent/data/run1/spectrum.bin", new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var listing = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/Storage/{name}/persistent/data/run1");
        var entry = Assert.Single(listing.GetProperty("entries").EnumerateArray());
        Assert.Equal("spectrum.bin", entry.GetProperty("name").GetString());
        Assert.Equal(300_000, entry.GetProperty("size").GetInt64());
        Assert.False(entry.GetProperty("isFolder").GetBoolean());
        Assert.Equal(bytes, await client.GetByteArrayAsync($"/api/files/content/Storage/{name}/persistent/data/run1/spectrum.bin"));
    }

    [Fact]
    public async Task Download_SupportsRangeHeadAndETag()
    {
        var (name, client) = await NewUserAsync();
        var bytes = RandomBytes(10_000);
        await client.PutAsync($"/api/files/content/Storage/{name}/persistent/r.bin", new ByteArrayContent(bytes));
        var url = $"/api/files/content/Storage/{name}/persistent/r.bin";

        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        var part = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(bytes[100..200], await part.Content.ReadAsByteArrayAsync());

        // Suffix, open-ended and unsatisfiable ranges, as RFC 9110 defines them.
        using var suffix = new HttpRequestMessage(HttpMethod.Get, url);
        suffix.Headers.Range = new RangeHeaderValue(null, 100);
        Assert.Equal(bytes[^100..], await (await client.SendAsync(suffix)).Content.ReadAsByteArrayAsync());
        using var openEnded = new HttpRequestMessage(HttpMethod.Get, url);
        openEnded.Headers.Range = new RangeHeaderValue(9_990, null);
        var tail = await client.SendAsync(openEnded);
        Assert.Equal("bytes 9990-9999/10000", tail.Content.Headers.ContentRange?.ToString());
        Assert.Equal(bytes[9_990..], await tail.Content.ReadAsByteArrayAsync());
        using var beyond = new HttpRequestMessage(HttpMethod.Get, url);
        beyond.Headers.Range = new RangeHeaderValue(20_000, 20_100);
        var unsatisfiable = await client.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        Assert.Equal("bytes */10000", unsatisfiable.Content.Headers.ContentRange?.ToString());

        var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(10_000, head.Content.Headers.ContentLength);
        var etag = head.Headers.ETag;
        Assert.NotNull(etag);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, url);
        conditional.Headers.IfNoneMatch.Add(etag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);
    }

    [Theory]
    [InlineData("page.html")]
    [InlineData("icon.svg")]
    [InlineData("code.js")]
    public async Task Download_ActiveContent_IsAnAttachmentWithNoSniff_EvenWhenAskedInline(string file)
    {
        var (name, client) = await NewUserAsync();
        await client.PutAsync($"/api/files/content/Storage/{name}/persistent/{file}", new StringContent("<script>alert(1)</script>"));

        var response = await client.GetAsync($"/api/files/content/Storage/{name}/persistent/{file}?inline=true");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task Upload_WithoutOverwrite_RefusesToReplace_AndKeepsTheOldFile()
    {
        var (name, client) = await NewUserAsync();
        var url = $"/api/files/content/Storage/{name}/persistent/keep.txt";
        await client.PutAsync(url, new StringContent("original"));

        var again = await client.PutAsync(url + "?overwrite=false", new StringContent("replacement"));

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("original", await client.GetStringAsync(url));
    }

    [Fact]
    public async Task ResumableUpload_ContinuesFromTheLastByteReceived()
    {
        var (name, client) = await NewUserAsync();
        var bytes = RandomBytes(250_000);
        var url = $"/api/files/content/Storage/{name}/persistent/big/resumed.bin";

        var first = await PutChunkAsync(client, url, bytes, 0, 99_999);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("100000", first.Headers.GetValues("Upload-Offset").Single());
        // Nothing appears at the target until the upload completes.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(url)).StatusCode);

        var status = await client.GetFromJsonAsync<JsonElement>($"/api/files/upload-status/Storage/{name}/persistent/big/resumed.bin?size=250000");
        Assert.Equal(100_000, status.GetProperty("received").GetInt64());

        var gap = await PutChunkAsync(client, url, bytes, 150_000, 199_999);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, gap.StatusCode);
        Assert.Equal("100000", gap.Headers.GetValues("Upload-Offset").Single());

        Assert.Equal(HttpStatusCode.Accepted, (await PutChunkAsync(client, url, bytes, 100_000, 199_999)).StatusCode);
        var last = await PutChunkAsync(client, url, bytes, 200_000, 249_999);
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        Assert.Equal(bytes, await client.GetByteArrayAsync(url));
    }

    [Fact]
    public async Task ResumableUpload_Discarded_StartsAgainFromByteZero()
    {
        var (name, client) = await NewUserAsync();
        var stale = RandomBytes(200_000);
        var fresh = RandomBytes(200_000);
        var url = $"/api/files/content/Storage/{name}/persistent/cube.bin";
        var status = $"/api/files/upload-status/Storage/{name}/persistent/cube.bin?size=200000";
        Assert.Equal(HttpStatusCode.Accepted, (await PutChunkAsync(client, url, stale, 0, 99_999)).StatusCode);

        // Without the discard, a different file of the same size would have to go on at byte 100000.
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, (await PutChunkAsync(client, url, fresh, 0, 99_999)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(status)).StatusCode);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>(status)).GetProperty("received").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(status)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.DeleteAsync($"/api/files/upload-status/Storage/{name}/persistent/cube.bin")).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await PutChunkAsync(client, url, fresh, 0, 99_999)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(client, url, fresh, 100_000, 199_999)).StatusCode);
        Assert.Equal(fresh, await client.GetByteArrayAsync(url));
    }

    [Fact]
    public async Task MoveCopyDelete_FilesAndFolders()
    {
        var (name, client) = await NewUserAsync();
        var root = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{root}/a/one.txt", new StringContent("1"));
        await client.PutAsync($"/api/files/content/{root}/a/sub/two.txt", new StringContent("22"));

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/files/copy", new { from = $"{root}/a", to = $"Temporary/{name}/scratch/a-copy" })).StatusCode);
        Assert.Equal("22", await client.GetStringAsync($"/api/files/content/Temporary/{name}/scratch/a-copy/sub/two.txt"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/files/move", new { from = $"{root}/a/one.txt", to = $"{root}/renamed.txt" })).StatusCode);
        Assert.Equal("1", await client.GetStringAsync($"/api/files/content/{root}/renamed.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/files/content/{root}/a/one.txt")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/files/move", new { from = $"{root}/a", to = $"{root}/a/sub/inside" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsJsonAsync("/api/files/copy", new { from = $"{root}/renamed.txt", to = $"{root}/a/sub/two.txt" })).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/files/entry/{root}/a")).StatusCode);
        var listing = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/{root}");
        Assert.Equal(["renamed.txt"], listing.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task MoveOverAnExistingFolder_ReplacesItOnlyWhenAsked()
    {
        var (name, client) = await NewUserAsync();
        var root = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{root}/new/n.txt", new StringContent("new"));
        await client.PutAsync($"/api/files/content/{root}/old/o.txt", new StringContent("old"));

        var refused = await client.PostAsJsonAsync("/api/files/move", new { from = $"{root}/new", to = $"{root}/old" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("old", await client.GetStringAsync($"/api/files/content/{root}/old/o.txt"));

        var replaced = await client.PostAsJsonAsync("/api/files/move", new { from = $"{root}/new", to = $"{root}/old", replace = true });
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("new", await client.GetStringAsync($"/api/files/content/{root}/old/n.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/files/content/{root}/old/o.txt")).StatusCode);
        var listing = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/{root}");
        Assert.Equal(["old"], listing.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task ZipDownload_HoldsTheFolderTree()
    {
        var (name, client) = await NewUserAsync();
        var root = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{root}/z/x.txt", new StringContent("x"));
        await client.PutAsync($"/api/files/content/{root}/z/deep/y.txt", new StringContent("yy"));

        var response = await client.GetAsync($"/api/files/zip/{root}/z");

        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal(["deep/y.txt", "x.txt"], zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Listing_IsSortedAndPaged()
    {
        var (name, client) = await NewUserAsync();
        var root = $"Storage/{name}/persistent/many";
        foreach (var n in new[] { "c.txt", "a.txt", "b.txt" })
        {
            await client.PutAsync($"/api/files/content/{root}/{n}", new StringContent(n));
        }

        await client.PutAsync($"/api/files/folder/{root}/zfolder", null);

        var page = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/{root}?offset=1&limit=2");

        Assert.Equal(4, page.GetProperty("total").GetInt32());
        Assert.Equal(["a.txt", "b.txt"], page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        var first = await client.GetFromJsonAsync<JsonElement>($"/api/files/list/{root}?limit=1");
        Assert.Equal("zfolder", first.GetProperty("entries")[0].GetProperty("name").GetString()); // folders first
    }

    [Fact]
    public async Task Preview_TextAndFitsHeader()
    {
        var (name, client) = await NewUserAsync();
        var root = $"Storage/{name}/persistent";
        await client.PutAsync($"/api/files/content/{root}/cat.csv", new StringContent("ra,dec\n10.5,-3.2\n"));
        await client.PutAsync($"/api/files/content/{root}/img.fits", new ByteArrayContent(MinimalFits()));

        var csv = await client.GetFromJsonAsync<JsonElement>($"/api/files/preview/{root}/cat.csv");
        var fits = await client.GetFromJsonAsync<JsonElement>($"/api/files/preview/{root}/img.fits");

        Assert.Equal("csv", csv.GetProperty("kind").GetString());
        Assert.StartsWith("ra,dec", csv.GetProperty("text").GetString(), StringComparison.Ordinal);
        var cards = fits.GetProperty("fitsHeader").EnumerateArray().ToList();
        Assert.Contains(cards, c => c.GetProperty("key").GetString() == "NAXIS" && c.GetProperty("value").GetString() == "0");
        Assert.Contains(cards, c => c.GetProperty("key").GetString() == "OBJECT" && c.GetProperty("value").GetString() == "eRASS1 J0123");
    }

    [Fact]
    public async Task UserVolumes_CreateRenameDescribeDelete()
    {
        var (name, client) = await NewUserAsync();

        var created = await client.PostAsJsonAsync("/api/files/volumes", new { rootVolume = "Storage", name = "project-x", description = "X-ray clusters" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await client.PutAsync($"/api/files/content/Storage/{name}/project-x/notes.txt", new StringContent("n"));
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsJsonAsync("/api/files/volumes", new { rootVolume = "Storage", name = "project-x" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/api/files/volumes", new { rootVolume = "Storage", name = "../x" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/api/files/volumes", new { rootVolume = "Nowhere", name = "x" })).StatusCode);

        var renamed = await client.PatchAsJsonAsync($"/api/files/volumes/Storage/{name}/project-x", new { name = "project-y", description = "renamed" });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal("n", await client.GetStringAsync($"/api/files/content/Storage/{name}/project-y/notes.txt"));

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/files/volumes/Storage/{name}/project-y")).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(platform.DataDirectory, "volumes", "Storage", name, "project-y")));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/files/list/Storage/{name}/project-y")).StatusCode);
    }

    protected async Task<(string Name, HttpClient Client)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("f");
        return (name, platform.CreateApiClient(await platform.CreateUserAsync(name)));
    }

    protected static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }

    private static async Task<HttpResponseMessage> PutChunkAsync(HttpClient client, string url, byte[] all, long from, long to)
    {
        var content = new ByteArrayContent(all, (int)from, (int)(to - from + 1));
        content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, all.Length);
        return await client.PutAsync(url, content);
    }

    private static byte[] MinimalFits()
    {
        var cards = new[] { "SIMPLE  =                    T", "BITPIX  =                    8", "NAXIS   =                    0", "OBJECT  = 'eRASS1 J0123'       / source name", "END" };
        var header = string.Concat(cards.Select(c => c.PadRight(80)));
        return Encoding.ASCII.GetBytes(header.PadRight(2880));
    }
}

public sealed class FileApiSqliteTests(SqlitePlatform platform) : FileApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class FileApiPostgresTests(PostgresPlatform platform) : FileApiTests(platform), IClassFixture<PostgresPlatform>;
