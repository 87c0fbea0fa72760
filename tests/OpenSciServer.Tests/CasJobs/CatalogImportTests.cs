using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DuckDB.NET.Data;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>An admin's import runs in the background: 202 with the import, its progress on the import route, the context registered when Ready.</summary>
public abstract class CatalogImportTests(PlatformFactory platform)
{
    [Fact]
    public async Task Import_Csv_Returns202_ReachesReady_WithRowsAndBytes_AndTheContextIsOrderedByHealpix()
    {
        const int rows = 20_000;
        var world = await CatalogWorld.CreateAsync(platform);
        var csv = CatalogFiles.Write(world.Folder, "sources.csv", rows);
        var name = PlatformFactory.UniqueName("Imp");

        var response = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = world.PathOf(csv), description = "Sources", isPublic = true });
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var seen = new List<string>();
        var done = await world.WaitForImportAsync(accepted.GetProperty("id").GetString()!, i =>
        {
            seen.Add(i.GetProperty("state").GetString()!);
            return i.GetProperty("final").GetBoolean();
        });
        var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("u")));
        var check = await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new
        {
            query = "SELECT count(*), count(healpix), count(*) FILTER (WHERE back) FROM (SELECT healpix, healpix < lag(healpix) OVER (ORDER BY rowid) AS back FROM sources)",
        });
        var listed = await world.Admin.GetFromJsonAsync<JsonElement[]>("/api/admin/casjobs/imports");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal($"/api/admin/casjobs/imports/{accepted.GetProperty("id").GetString()}", response.Headers.Location!.OriginalString);
        Assert.Contains(accepted.GetProperty("state").GetString(), new[] { "Queued", "Importing" });
        Assert.Equal(name, accepted.GetProperty("name").GetString());
        Assert.Equal("Ready", done.GetProperty("state").GetString());
        Assert.Equal("done", done.GetProperty("phase").GetString());
        Assert.Equal(rows, done.GetProperty("rowsRead").GetInt64());
        Assert.Equal(new FileInfo(csv).Length, done.GetProperty("bytesRead").GetInt64());
        Assert.Equal(new FileInfo(csv).Length, done.GetProperty("bytesTotal").GetInt64());
        Assert.Equal($"/api/admin/casjobs/contexts/{name}", done.GetProperty("context").GetString());
        Assert.Equal("admin", done.GetProperty("submittedBy").GetString());
        Assert.True(done.GetProperty("elapsedSeconds").GetDouble() > 0);
        Assert.DoesNotContain("Failed", seen);
        var counts = (await check.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0];
        Assert.Equal([rows, rows, 0], counts.EnumerateArray().Select(v => v.GetInt64()));
        Assert.Contains(listed!, i => i.GetProperty("id").GetString() == accepted.GetProperty("id").GetString());
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(platform.DataDirectory, "catalogs"), ".import-*"));
    }

    [Fact]
    public async Task ImportRoutes_ForNonAdmins_Return403_AndAnUnknownImportIs404()
    {
        var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("u")));
        var world = await CatalogWorld.CreateAsync(platform);

        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/api/admin/casjobs/imports")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.PostAsync("/api/admin/casjobs/imports/abc/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync("/api/admin/casjobs/imports/nosuchimport")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.PostAsync("/api/admin/casjobs/imports/nosuchimport/cancel", null)).StatusCode);
    }
}

public sealed class CatalogImportSqliteTests(SqlitePlatform platform) : CatalogImportTests(platform), IClassFixture<SqlitePlatform>;

public sealed class CatalogImportPostgresTests(PostgresPlatform platform) : CatalogImportTests(platform), IClassFixture<PostgresPlatform>;

/// <summary>
/// An import while it runs: the context is not there yet (409 with words, for queries and admin routes), its name is taken,
/// a second import waits its turn, and cancel stops it leaving nothing. A platform of its own: imports run one at a time.
/// </summary>
public sealed class CatalogImportRunningTests : IAsyncLifetime
{
    private readonly PlatformFactory _platform = new();

    public Task InitializeAsync() => _platform.InitializeAsync();

    public Task DisposeAsync() => _platform.DisposeAsync().AsTask();

    [Fact]
    public async Task Import_WhileRunning_Says409_NextOneQueued_CancelLeavesNothing()
    {
        var world = await CatalogWorld.CreateAsync(_platform);
        // Big enough to be still running while the test looks (a few seconds), small enough to write in one.
        var big = CatalogFiles.WriteParquet(world.Folder, "big.parquet", 2_000_000);
        var small = CatalogFiles.Write(world.Folder, "small.csv", 100);
        var name = PlatformFactory.UniqueName("Run");
        var next = PlatformFactory.UniqueName("Next");
        var user = _platform.CreateApiClient(await _platform.CreateUserAsync(PlatformFactory.UniqueName("u")));

        var running = await world.StartImportAsync(name, big);
        var queued = await world.StartImportAsync(next, small, isPublic: true);
        var importing = await world.WaitForImportAsync(running, i => i.GetProperty("state").GetString() == "Importing");
        var adminQuery = await world.Admin.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*) FROM big" });
        var adminGet = await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{name}");
        var again = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = name.ToUpperInvariant(), path = world.PathOf(small) });
        var userQuery = await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" });
        var userQueryOfPublic = await user.PostAsJsonAsync($"/api/casjobs/contexts/{next}/query", new { query = "SELECT 1" });
        var waiting = await world.Admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{queued}");
        var cancelQueued = await world.Admin.PostAsync($"/api/admin/casjobs/imports/{queued}/cancel", null);
        var cancel = await world.Admin.PostAsync($"/api/admin/casjobs/imports/{running}/cancel", null);
        var ended = await world.WaitForImportAsync(running);
        var cancelAgain = await world.Admin.PostAsync($"/api/admin/casjobs/imports/{running}/cancel", null);

        Assert.Equal(HttpStatusCode.Conflict, adminQuery.StatusCode);
        Assert.Contains($"'{name}' is being imported", await adminQuery.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("once its import is Ready", await adminQuery.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, adminGet.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        // Not public: to others the context does not exist yet; a public one is announced.
        Assert.Equal(HttpStatusCode.NotFound, userQuery.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, userQueryOfPublic.StatusCode);
        Assert.Contains("queued for import", await userQueryOfPublic.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("Queued", waiting.GetProperty("state").GetString());
        Assert.Equal("queued", waiting.GetProperty("phase").GetString());
        Assert.Equal(new FileInfo(big).Length, importing.GetProperty("bytesTotal").GetInt64());
        Assert.Equal(HttpStatusCode.OK, cancelQueued.StatusCode);
        Assert.Equal("Canceled", (await world.Admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{queued}")).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("Canceled", ended.GetProperty("state").GetString());
        Assert.Contains("Canceled by admin", ended.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, cancelAgain.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{name}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{next}")).StatusCode);
        var catalogs = Path.Combine(_platform.DataDirectory, "catalogs");
        Assert.False(File.Exists(Path.Combine(catalogs, name.ToLowerInvariant() + ".duckdb")));
        Assert.Empty(Directory.EnumerateDirectories(catalogs, ".import-*"));
        Assert.DoesNotContain(MachineProcesses.All(), p => p.CommandLine.Contains("query-worker", StringComparison.Ordinal) && p.CommandLine.Contains(catalogs, StringComparison.Ordinal) && !p.IsZombie);
    }
}

/// <summary>Catalog files for import tests: the demo catalog's shape (id, ra, dec, flux), written by DuckDB.</summary>
internal static class CatalogFiles
{
    public static string Write(string folder, string fileName, int rows) => Copy(folder, fileName, rows, "(FORMAT csv, HEADER)");

    public static string WriteParquet(string folder, string fileName, int rows) => Copy(folder, fileName, rows, "(FORMAT parquet)");

    private static string Copy(string folder, string fileName, int rows, string format)
    {
        var path = Path.Combine(folder, fileName);
        using var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        using var copy = duck.CreateCommand();
        copy.CommandText = "COPY (SELECT i AS id, round((i * 0.618034) % 1 * 360, 6) AS ra, round(degrees(asin(((i * 0.414214) % 1) * 2 - 1)), 6) AS dec, " +
            $"round(hash(i) % 100000 / 1e3, 3) AS flux FROM range({rows}) t(i)) TO '{path}' {format}";
        copy.ExecuteNonQuery();
        return path;
    }
}
