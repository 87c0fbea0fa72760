using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>MyDB management and sharing through the native API, on both platform databases.</summary>
public abstract class MyDbApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task Overview_ListsTablesWithRowsColumnsSizeAndDate()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, "CREATE TABLE big AS SELECT range AS id, random() AS x, 'row ' || range AS label FROM range(200000)");
        await QueryAsync(client, "CREATE TABLE tiny AS SELECT 1 AS a");

        var mydb = await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb");

        var tables = mydb.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(["big", "tiny"], tables.Keys.Order());
        Assert.Equal(200000, tables["big"].GetProperty("rows").GetInt64());
        Assert.Equal(3, tables["big"].GetProperty("columns").GetInt64());
        Assert.True(tables["big"].GetProperty("sizeBytes").GetInt64() > 256 * 1024, "200,000 rows take more than one block");
        Assert.True(tables["tiny"].GetProperty("sizeBytes").GetInt64() < tables["big"].GetProperty("sizeBytes").GetInt64());
        Assert.Equal(JsonValueKind.String, tables["big"].GetProperty("createdAt").ValueKind);
        Assert.True(mydb.GetProperty("usedBytes").GetInt64() > 0);
        Assert.Equal(10L * 1024 * 1024 * 1024, mydb.GetProperty("quotaBytes").GetInt64());
    }

    [Fact]
    public async Task Describe_ShowsColumnsAndTypes_UnknownTableIs404()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, "CREATE TABLE obs (id BIGINT, ra DOUBLE, name VARCHAR, ok BOOLEAN)");

        var table = await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb/tables/OBS");
        var missing = await client.GetAsync("/api/casjobs/mydb/tables/nothing");

        Assert.Equal("obs", table.GetProperty("name").GetString());
        Assert.Equal([("id", "BIGINT"), ("ra", "DOUBLE"), ("name", "VARCHAR"), ("ok", "BOOLEAN")],
            table.GetProperty("columns").EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("type").GetString())));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Rename_KeepsDataAndDate_TakenNameIs409()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, "CREATE TABLE a AS SELECT range AS v FROM range(5)");
        await QueryAsync(client, "CREATE TABLE b AS SELECT 1 AS v");
        var before = (await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb/tables/a")).GetProperty("createdAt").GetString();

        var renamed = await client.PatchAsJsonAsync("/api/casjobs/mydb/tables/a", new { name = "renamed" });
        var taken = await client.PatchAsJsonAsync("/api/casjobs/mydb/tables/renamed", new { name = "B" });

        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var body = await renamed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("renamed", body.GetProperty("name").GetString());
        Assert.Equal(5, body.GetProperty("rows").GetInt64());
        Assert.Equal(before, body.GetProperty("createdAt").GetString());
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Equal(5, (await QueryAsync(client, "SELECT count(*) FROM renamed")).GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Drop_RemovesTheTable_SecondDropIs404()
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, "CREATE TABLE gone AS SELECT 1 AS v");

        var drop = await client.DeleteAsync("/api/casjobs/mydb/tables/gone");
        var again = await client.DeleteAsync("/api/casjobs/mydb/tables/gone");

        Assert.Equal(HttpStatusCode.NoContent, drop.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables").EnumerateArray());
    }

    [Theory]
    [InlineData("x; DROP TABLE t")]
    [InlineData("a\"b")]
    [InlineData("../etc")]
    [InlineData("1abc")]
    public async Task HostileTableNames_Are400_NothingChanges(string hostile)
    {
        var (client, _) = await NewUserAsync();
        await QueryAsync(client, "CREATE TABLE t AS SELECT 1 AS v");
        var escaped = Uri.EscapeDataString(hostile);

        var rename = await client.PatchAsJsonAsync("/api/casjobs/mydb/tables/t", new { name = hostile });
        var drop = await client.DeleteAsync($"/api/casjobs/mydb/tables/{escaped}");
        var upload = await client.PostAsync($"/api/casjobs/mydb/tables/{escaped}/upload?format=csv", new StringContent("a\n1\n"));
        var export = await client.PostAsJsonAsync($"/api/casjobs/mydb/tables/{escaped}/export", new { path = "Storage/x/persistent/out.csv" });

        Assert.All([rename, drop, upload, export], r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        Assert.Equal(["t"], (await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task SharedTable_GranteeReadsItByItsSharedName_AndNothingElseOfTheOwner()
    {
        var (alice, aliceName) = await NewUserAsync();
        var (bob, bobName) = await NewUserAsync();
        await QueryAsync(alice, "CREATE TABLE results AS SELECT range AS id, range * 2 AS twice FROM range(10)");
        await QueryAsync(alice, "CREATE TABLE private_notes AS SELECT 'alice only' AS note");

        var share = await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/results/sharing", new[] { new { name = bobName, kind = "user" } });
        var sharing = await alice.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/tables/results/sharing");
        var shared = await SharedByAsync(bob, aliceName);

        Assert.Equal(HttpStatusCode.OK, share.StatusCode);
        Assert.Equal([(bobName, "user")], sharing!.Select(s => (s.GetProperty("name").GetString(), s.GetProperty("kind").GetString())));
        var entry = Assert.Single(shared);
        Assert.Equal(aliceName, entry.GetProperty("owner").GetString());
        Assert.Equal("results", entry.GetProperty("table").GetString());
        var queryName = entry.GetProperty("queryName").GetString();
        Assert.Equal($"shared.{aliceName}.results", queryName);

        var read = await QueryAsync(bob, $"SELECT CAST(sum(twice) AS BIGINT) AS s FROM {queryName}");
        Assert.Equal(90, read.GetProperty("rows")[0][0].GetInt64());
        // From a catalog context too, next to the catalog's tables.
        var joined = await bob.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = $"SELECT count(*) FROM erass_synthetic e JOIN {queryName} r ON e.id = r.id" });
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);

        // Only what was shared: not the owner's other tables, not the owner's file, whatever the SQL tries.
        var aliceFile = Path.Combine(platform.DataDirectory, "mydb", aliceName, "mydb.duckdb");
        string[] probes =
        [
            $"SELECT * FROM shared.{aliceName}.private_notes",
            $"ATTACH '{aliceFile}' AS stolen (READ_ONLY)",
            $"SELECT * FROM read_parquet('{aliceFile}')",
            $"SELECT * FROM read_csv('{Path.Combine(platform.DataDirectory, "mydb", aliceName, "mydb.meta.json")}')",
            "SET enable_external_access = true",
        ];
        foreach (var probe in probes)
        {
            var response = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = probe });
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{probe}: {(int)response.StatusCode} {text}");
            Assert.DoesNotContain("alice only", text, StringComparison.Ordinal);
        }

        // (Another test of this class shares a table with everyone, in its owner's schema.)
        var catalog = await QueryAsync(bob, $"SELECT database_name || '.' || schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name <> 'shared' OR schema_name = '{aliceName}' ORDER BY 1");
        Assert.Equal([$"shared.{aliceName}.results"], catalog.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()));
    }

    [Fact]
    public async Task SharedTable_IsReadOnly_AndRevokeRemovesItAtTheNextQuery()
    {
        var (alice, aliceName) = await NewUserAsync();
        var (bob, bobName) = await NewUserAsync();
        await QueryAsync(alice, "CREATE TABLE results AS SELECT range AS id FROM range(3)");
        await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/results/sharing", new[] { new { name = bobName, kind = "user" } });

        var write = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = $"INSERT INTO shared.{aliceName}.results VALUES (99)" });
        var drop = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = $"DROP TABLE shared.{aliceName}.results" });
        var revoke = await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/results/sharing", Array.Empty<object>());
        var after = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = $"SELECT * FROM shared.{aliceName}.results" });

        Assert.Equal(HttpStatusCode.BadRequest, write.StatusCode);
        Assert.Contains("read-only", await write.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, drop.StatusCode);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, after.StatusCode);
        Assert.Empty(await SharedByAsync(bob, aliceName));
        Assert.Equal(3, (await QueryAsync(alice, "SELECT count(*) FROM results")).GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task SharedTable_RenameFollows_DropRemovesTheSharing()
    {
        var (alice, aliceName) = await NewUserAsync();
        var (bob, bobName) = await NewUserAsync();
        await QueryAsync(alice, "CREATE TABLE v1 AS SELECT 7 AS x");
        await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/v1/sharing", new[] { new { name = bobName, kind = "user" } });

        await alice.PatchAsJsonAsync("/api/casjobs/mydb/tables/v1", new { name = "v2" });
        var afterRename = await SharedByAsync(bob, aliceName);
        var read = await QueryAsync(bob, $"SELECT x FROM shared.{aliceName}.v2");
        await alice.DeleteAsync("/api/casjobs/mydb/tables/v2");
        await QueryAsync(alice, "CREATE TABLE v2 AS SELECT 'new and private' AS x");
        var afterDrop = await SharedByAsync(bob, aliceName);
        var stale = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = $"SELECT x FROM shared.{aliceName}.v2" });

        Assert.Equal("v2", Assert.Single(afterRename).GetProperty("table").GetString());
        Assert.Equal(7, read.GetProperty("rows")[0][0].GetInt64());
        Assert.Empty(afterDrop);
        Assert.Equal(HttpStatusCode.BadRequest, stale.StatusCode);
        Assert.DoesNotContain("new and private", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sharing_WithAGroup_AndWithNobodyKnown()
    {
        var (alice, aliceName) = await NewUserAsync();
        await QueryAsync(alice, "CREATE TABLE t AS SELECT 1 AS x");

        var unknownUser = await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/t/sharing", new[] { new { name = "nobody_here_at_all", kind = "user" } });
        var badKind = await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/t/sharing", new[] { new { name = "x", kind = "planet" } });
        var missingTable = await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/nope/sharing", Array.Empty<object>());
        var withPublic = await alice.PutAsJsonAsync("/api/casjobs/mydb/tables/t/sharing", new[] { new { name = "public", kind = "group" } });
        var (carol, _) = await NewUserAsync();

        Assert.Equal(HttpStatusCode.BadRequest, unknownUser.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badKind.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missingTable.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withPublic.StatusCode);
        Assert.Single(await SharedByAsync(carol, aliceName));
    }

    private async Task<(HttpClient Client, string Name)> NewUserAsync()
    {
        var name = PlatformFactory.UniqueName("m");
        return (platform.CreateApiClient(await platform.CreateUserAsync(name)), name);
    }

    private static async Task<List<JsonElement>> SharedByAsync(HttpClient client, string owner) =>
        (await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/shared"))!.Where(s => s.GetProperty("owner").GetString() == owner).ToList();

    private static async Task<JsonElement> QueryAsync(HttpClient client, string sql)
    {
        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        var sets = JsonDocument.Parse(body).RootElement.GetProperty("resultSets");
        return sets.GetArrayLength() > 0 ? sets[0].Clone() : default;
    }
}

public sealed class MyDbApiSqliteTests(SqlitePlatform platform) : MyDbApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class MyDbApiPostgresTests(PostgresPlatform platform) : MyDbApiTests(platform), IClassFixture<PostgresPlatform>;
