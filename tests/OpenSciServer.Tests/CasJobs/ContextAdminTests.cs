using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DuckDB.NET.Data;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Admins register catalog contexts from data volume files, import CSV and Parquet, set limits and unregister; on both databases.</summary>
public abstract class ContextAdminTests(PlatformFactory platform)
{
    [Fact]
    public async Task Register_DuckDbFileInADataVolume_QueryableByGrantee_NotByOthers()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("stars.duckdb", "CREATE TABLE stars AS SELECT range AS id, range * 0.5 AS ra FROM range(100)");
        var name = PlatformFactory.UniqueName("Stars");

        var registered = await world.RegisterAsync(name, file);
        var grantee = await NewUserAsync();
        var other = await NewUserAsync();
        await world.ShareAsync(registered, "user", grantee.Name, "query");

        var answer = await grantee.Client.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*) AS n, max(ra) AS top FROM stars" });
        var refused = await other.Client.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*) FROM stars" });
        var othersContexts = await other.Client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var row = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0];
        Assert.Equal(100, row[0].GetInt64());
        Assert.Equal(49.5, row[1].GetDouble());
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.DoesNotContain(othersContexts!, c => c.GetProperty("name").GetString() == name);
        Assert.Equal(file, registered.GetProperty("path").GetString());
        Assert.False(registered.GetProperty("builtByPlatform").GetBoolean());
        var table = Assert.Single(registered.GetProperty("tables").EnumerateArray());
        Assert.Equal("stars", table.GetProperty("name").GetString());
        Assert.Equal(100, table.GetProperty("rows").GetInt64());
    }

    [Fact]
    public async Task Register_FileThatIsNotDuckDb_Returns400SayingSo()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.Text("notes.duckdb", "this is not a database\n");

        var response = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = PlatformFactory.UniqueName("N"), path = world.PathOf(file) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("could not be opened as a DuckDB database", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_PathsThatLeaveTheDataVolume_AreRefused()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var outside = Path.Combine(platform.DataDirectory, "outside.duckdb");
        CatalogWorld.WriteDuckDb(outside, "CREATE TABLE t AS SELECT 1 AS x");
        File.CreateSymbolicLink(Path.Combine(world.Folder, "link.duckdb"), outside);
        var name = PlatformFactory.UniqueName("E");

        var dotDot = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = $"{world.Volume}/../outside.duckdb" });
        var encoded = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = $"{world.Volume}/%2e%2e/outside.duckdb" });
        var link = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = $"{world.Volume}/link.duckdb" });
        var absolute = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = outside });
        var userVolume = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = "Storage/admin/persistent/x.duckdb" });
        var missing = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = $"{world.Volume}/none.duckdb" });

        Assert.Equal(HttpStatusCode.BadRequest, dotDot.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, encoded.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, link.StatusCode);
        Assert.Contains("symbolic link", await link.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(absolute.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"absolute path: {absolute.StatusCode}");
        Assert.True(userVolume.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"user volume: {userVolume.StatusCode}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{name}")).StatusCode);
    }

    [Fact]
    public async Task Register_FromAWritableDataVolume_Returns400()
    {
        var world = await CatalogWorld.CreateAsync(platform, writable: true);
        var file = world.DuckDb("w.duckdb", "CREATE TABLE t AS SELECT 1 AS x");

        var response = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = PlatformFactory.UniqueName("W"), path = world.PathOf(file) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("read-only data volume", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_NameRules_InvalidReservedAndTakenNames()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("n.duckdb", "CREATE TABLE t AS SELECT 1 AS x");
        var name = PlatformFactory.UniqueName("Taken");
        await world.RegisterAsync(name, file);

        var spaces = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = "two words", path = world.PathOf(file) });
        var tooLong = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = new string('a', 65), path = world.PathOf(file) });
        var mydb = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = "mydb", path = world.PathOf(file) });
        var taken = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = name.ToUpperInvariant(), path = world.PathOf(file) });

        Assert.Equal(HttpStatusCode.BadRequest, spaces.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, mydb.StatusCode);
        Assert.Contains("MyDB", await mydb.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
    }

    [Fact]
    public async Task Import_Csv_BuildsANewCatalog_DeletedWhenUnregistered()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var csv = world.Text("galaxies.csv", "id,ra,dec,name\n1,10.5,-3.25,M31\n2,11.0,-2.0,\"NGC, 224\"\n3,12.5,1.5,\n");
        var name = PlatformFactory.UniqueName("Gal");

        var registered = await world.RegisterAsync(name, csv, isPublic: true);
        var user = await NewUserAsync();
        var rows = await user.Client.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT name, ra FROM galaxies ORDER BY id" });

        Assert.True(registered.GetProperty("builtByPlatform").GetBoolean());
        var built = registered.GetProperty("path").GetString()!;
        Assert.Equal(Path.Combine(platform.DataDirectory, "catalogs", name.ToLowerInvariant() + ".duckdb"), built);
        Assert.True(registered.GetProperty("isPublic").GetBoolean());
        var set = (await rows.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0];
        Assert.Equal(["M31", "NGC, 224", null], set.GetProperty("rows").EnumerateArray().Select(r => r[0].ValueKind == JsonValueKind.Null ? null : r[0].GetString()));
        Assert.Equal(10.5, set.GetProperty("rows")[0][1].GetDouble());
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(platform.DataDirectory, "catalogs"), ".import-*"));

        Assert.Equal(HttpStatusCode.NoContent, (await world.Admin.DeleteAsync($"/api/admin/casjobs/contexts/{name}")).StatusCode);
        Assert.False(File.Exists(built), "the file the platform built goes with the context");
        Assert.True(File.Exists(csv), "the source file stays");
        Assert.Equal(HttpStatusCode.NotFound, (await user.Client.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" })).StatusCode);
    }

    [Fact]
    public async Task Import_Parquet_WithATableName()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var parquet = Path.Combine(world.Folder, "psc.parquet");
        using (var duck = new DuckDBConnection("Data Source=:memory:"))
        {
            duck.Open();
            using var copy = duck.CreateCommand();
            copy.CommandText = $"COPY (SELECT range AS id, range / 10.0 AS jmag, 'src' || range AS name FROM range(1234)) TO '{parquet}' (FORMAT parquet)";
            copy.ExecuteNonQuery();
        }

        var name = PlatformFactory.UniqueName("Psc");
        var registered = await world.RegisterAsync(name, parquet, table: "point_sources");

        var table = Assert.Single(registered.GetProperty("tables").EnumerateArray());
        Assert.Equal("point_sources", table.GetProperty("name").GetString());
        Assert.Equal(1234, table.GetProperty("rows").GetInt64());
        var answer = await world.Admin.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT TOP 1 name, jmag FROM point_sources ORDER BY id DESC" });
        var row = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0];
        Assert.Equal("src1233", row[0].GetString());
    }

    [Fact]
    public async Task Import_RaggedCsv_FailsWithTheReason_AndLeavesNoFileNorRegistration()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var csv = world.Text("ragged.csv", "a,b\n1,2\n3,4,5,6\n7,8\n");
        var name = PlatformFactory.UniqueName("Rag");

        var import = await world.WaitForImportAsync(await world.StartImportAsync(name, csv));

        Assert.Equal("Failed", import.GetProperty("state").GetString());
        Assert.Contains("could not be imported", import.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("as many values on every line", import.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(platform.DataDirectory, "catalogs", name.ToLowerInvariant() + ".duckdb")));
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(platform.DataDirectory, "catalogs"), ".import-*"));
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{name}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" })).StatusCode);
    }

    [Fact]
    public async Task Import_Fits_BuildsAQueryableContext_WithTheUnitsAsDescriptions()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var path = Path.Combine(world.Folder, "xsources.fits");
        await using (var output = File.Create(path))
        {
            var writer = new OpenSciServer.Astro.Fits.FitsTableWriter(output,
            [
                new("id", OpenSciServer.Astro.Fits.FitsColumnType.Int64),
                new("ra", OpenSciServer.Astro.Fits.FitsColumnType.Double, "deg"),
                new("dec", OpenSciServer.Astro.Fits.FitsColumnType.Double, "deg"),
                new("flux", OpenSciServer.Astro.Fits.FitsColumnType.Single, "erg/s/cm2"),
                new("name", OpenSciServer.Astro.Fits.FitsColumnType.String, StringWidth: 8),
            ], 3, extensionName: "XSOURCES");
            foreach (var row in new object?[][] { [1L, 10.5, -5.0, 1.5f, "one"], [2L, 20.25, 30.0, null, "two"], [3L, 359.75, 89.5, 3.5f, null] })
            {
                await writer.WriteRowAsync(row, default);
            }

            await writer.CompleteAsync(default);
        }

        var name = PlatformFactory.UniqueName("Fx");
        await world.RegisterAsync(name, path, isPublic: true);
        using var user = (await NewUserAsync()).Client;
        var query = await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT id, ra, flux, name FROM xsources ORDER BY id" });
        var columns = await user.GetFromJsonAsync<JsonElement>($"/api/casjobs/contexts/{name}/tables/xsources/columns");

        var body = await query.Content.ReadAsStringAsync();
        Assert.True(query.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("[[1,10.5,1.5,\"one\"],[2,20.25,null,\"two\"],[3,359.75,3.5,null]]",
            JsonDocument.Parse(body).RootElement.GetProperty("resultSets")[0].GetProperty("rows").GetRawText());
        var units = columns.EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.TryGetProperty("unit", out var u) ? u.GetString() : null);
        Assert.Equal("deg", units["ra"]);
        Assert.Equal("deg", units["dec"]);
        Assert.Equal("erg/s/cm2", units["flux"]);
        // With ra and dec, the new catalog gets its sky index like a CSV or Parquet import.
        Assert.Contains("healpix", units.Keys);
    }

    [Fact]
    public async Task Import_NotAFitsFile_Fails_AndLeavesNothing()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var fits = world.Text("table.fits", "SIMPLE  =                    T");
        var name = PlatformFactory.UniqueName("F");

        var import = await world.WaitForImportAsync(await world.StartImportAsync(name, fits));

        Assert.Equal("Failed", import.GetProperty("state").GetString());
        Assert.Contains("FITS file could not be imported", import.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(platform.DataDirectory, "catalogs", name.ToLowerInvariant() + ".duckdb")));
        Assert.Equal(HttpStatusCode.NotFound, (await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{name}")).StatusCode);
    }

    [Fact]
    public async Task WritingIntoAContext_Returns400_AndTheCatalogIsUnchanged()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("ro.duckdb", "CREATE TABLE stars AS SELECT range AS id, 1.0 AS ra FROM range(10)");
        var name = PlatformFactory.UniqueName("Ro");
        await world.RegisterAsync(name, file, isPublic: true);
        using var user = (await NewUserAsync()).Client;
        string[] writes =
        [
            "INSERT INTO stars VALUES (99, 1.0)", "UPDATE stars SET ra = 0", "DELETE FROM stars", "CREATE TABLE ctx.extra AS SELECT 1 AS x",
            "DROP TABLE stars", "ALTER TABLE stars ADD COLUMN y INTEGER",
        ];

        foreach (var sql in writes)
        {
            var write = await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = sql });
            Assert.True(write.StatusCode == HttpStatusCode.BadRequest, $"{sql}: {write.StatusCode}");
        }

        var count = await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*), sum(ra), count(*) FILTER (WHERE id = 99) FROM stars" });
        var row = (await count.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0];
        Assert.Equal(10, row[0].GetInt64());
        Assert.Equal(10.0, row[1].GetDouble());
        Assert.Equal(0, row[2].GetInt64());
        Assert.Equal(["stars"], (await user.GetFromJsonAsync<JsonElement[]>($"/api/casjobs/contexts/{name}/tables"))!.Select(t => t.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task QuickQueryTimeout_OfTheContext_StopsASlowCrossJoin_AndNamesTheLimit()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("slow.duckdb", "CREATE TABLE a AS SELECT range AS x FROM range(100000)");
        var name = PlatformFactory.UniqueName("Slow");
        await world.RegisterAsync(name, file, isPublic: true);
        var updated = await world.Admin.PutAsJsonAsync($"/api/admin/casjobs/contexts/{name}", new { timeoutSeconds = 1 });
        var user = await NewUserAsync();
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var slow = await user.Client.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT sum(a1.x * a2.x) FROM a a1 CROSS JOIN a a2 CROSS JOIN range(1000) r" });

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, slow.StatusCode);
        Assert.Contains("limit of 1 s", await slow.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"took {watch.Elapsed}");
        var listed = (await user.Client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts"))!.Single(c => c.GetProperty("name").GetString() == name);
        Assert.Equal(1, listed.GetProperty("timeoutSeconds").GetInt32());
        Assert.True(listed.GetProperty("isPublic").GetBoolean());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3601)]
    [InlineData(-5)]
    public async Task Register_TimeoutOutsideOneSecondToOneHour_Returns400(int seconds)
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("t.duckdb", "CREATE TABLE t AS SELECT 1 AS x");

        var response = await world.Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = PlatformFactory.UniqueName("T"), path = world.PathOf(file), timeoutSeconds = seconds });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("between 1 and 3600 seconds", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_DescriptionAndPublic_ThenUnregister_KeepsTheAdminsFile()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("keep.duckdb", "CREATE TABLE t AS SELECT 1 AS x");
        var name = PlatformFactory.UniqueName("Keep");
        await world.RegisterAsync(name, file, isPublic: true);

        var updated = await world.Admin.PutAsJsonAsync($"/api/admin/casjobs/contexts/{name}", new { description = "Kept by the admin", isPublic = false, timeoutSeconds = 0 });
        var body = await updated.Content.ReadFromJsonAsync<JsonElement>();
        var deleted = await world.Admin.DeleteAsync($"/api/admin/casjobs/contexts/{name}");
        var again = await world.Admin.GetAsync($"/api/admin/casjobs/contexts/{name}");

        Assert.Equal("Kept by the admin", body.GetProperty("description").GetString());
        Assert.False(body.GetProperty("isPublic").GetBoolean());
        Assert.False(body.TryGetProperty("quickQueryTimeoutSeconds", out var own) && own.ValueKind != JsonValueKind.Null, "the context's own limit is gone");
        Assert.Equal(60, body.GetProperty("timeoutSeconds").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.True(File.Exists(file), "a file the admin pointed to is never deleted");
    }

    [Fact]
    public async Task AdminRoutes_ForNonAdmins_Return403()
    {
        var user = await NewUserAsync();

        var list = await user.Client.GetAsync("/api/admin/casjobs/contexts");
        var register = await user.Client.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = "Mine", path = "x/y.duckdb" });
        var delete = await user.Client.DeleteAsync("/api/admin/casjobs/contexts/Demo");
        var describe = await user.Client.PutAsJsonAsync("/api/admin/casjobs/contexts/Demo/descriptions", new[] { new { table = "erass_synthetic", description = "mine" } });
        var anonymous = await platform.CreateApiClient().GetAsync("/api/admin/casjobs/contexts");

        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, register.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, describe.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    private async Task<(HttpClient Client, string Name)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("c");
        return (platform.CreateApiClient(await platform.CreateUserAsync(name)), name);
    }
}

public sealed class ContextAdminSqliteTests(SqlitePlatform platform) : ContextAdminTests(platform), IClassFixture<SqlitePlatform>;

public sealed class ContextAdminPostgresTests(PostgresPlatform platform) : ContextAdminTests(platform), IClassFixture<PostgresPlatform>;

/// <summary>A read-only data volume of the test's own, files in it, and the admin's client to register contexts from them.</summary>
internal sealed class CatalogWorld
{
    private CatalogWorld(HttpClient admin, string volume, string folder)
    {
        Admin = admin;
        Volume = volume;
        Folder = folder;
    }

    public HttpClient Admin { get; }

    public string Volume { get; }

    public string Folder { get; }

    public static async Task<CatalogWorld> CreateAsync(PlatformFactory platform, bool writable = false)
    {
        var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var volume = PlatformFactory.UniqueName("dv");
        var folder = Directory.CreateDirectory(Path.Combine(platform.DataDirectory, "volumes", "Data", volume)).FullName;
        var response = await admin.PostAsJsonAsync("/api/admin/data-volumes", new { name = volume, path = folder, writable });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return new CatalogWorld(admin, volume, folder);
    }

    /// <summary>The file's path as the API names it: DataVolume/file.</summary>
    public string PathOf(string file) => $"{Volume}/{Path.GetRelativePath(Folder, file)}";

    public string DuckDb(string fileName, params string[] sql)
    {
        var path = Path.Combine(Folder, fileName);
        WriteDuckDb(path, sql);
        return path;
    }

    public string Text(string fileName, string content)
    {
        var path = Path.Combine(Folder, fileName);
        File.WriteAllText(path, content);
        return path;
    }

    public static void WriteDuckDb(string path, params string[] sql)
    {
        using var connection = new DuckDBConnection($"Data Source={path}");
        connection.Open();
        foreach (var statement in sql.Append("CHECKPOINT"))
        {
            using var command = connection.CreateCommand();
            command.CommandText = statement;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Registers a DuckDB file (201), or imports a table file (202) and waits for its import to be Ready; returns the context.</summary>
    public async Task<JsonElement> RegisterAsync(string name, string file, bool isPublic = false, string? table = null)
    {
        var response = await Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = PathOf(file), description = $"Test catalog {name}", isPublic, table });
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            var import = await WaitForImportAsync(JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!);
            Assert.True(import.GetProperty("state").GetString() == "Ready", $"import of {name}: {import}");
            return await Admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/contexts/{name}");
        }

        Assert.True(response.StatusCode == HttpStatusCode.Created, $"register {name}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Starts an import (expects 202) and returns its id.</summary>
    public async Task<string> StartImportAsync(string name, string file, bool isPublic = false)
    {
        var response = await Admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name, path = PathOf(file), isPublic });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"import {name}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Polls the import until it has ended (Ready, Failed or Canceled), at most a minute; returns it.</summary>
    public async Task<JsonElement> WaitForImportAsync(string id, Func<JsonElement, bool>? until = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var import = await Admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/imports/{id}");
            if (until?.Invoke(import) ?? import.GetProperty("final").GetBoolean())
            {
                return import;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"import {id} did not get there: {import}");
            Assert.False(until is not null && import.GetProperty("final").GetBoolean(), $"import {id} ended first: {import}");
            await Task.Delay(50);
        }
    }

    public async Task ShareAsync(JsonElement context, string type, string name, params string[] actions)
    {
        var response = await Admin.PutAsJsonAsync($"/api/resources/{context.GetProperty("resourceId").GetString()}/privileges", new { type, name, actions });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
