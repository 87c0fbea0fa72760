using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Quick queries through the native API and SciServer's CasJobs route, on the demo catalogue, on both databases.</summary>
public abstract class CasJobsApiTests(PlatformFactory platform)
{
    [Fact]
    public async Task Contexts_ListMyDbAndTheDemoCatalogue()
    {
        using var client = await NewUserAsync();

        var contexts = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts");

        Assert.Equal(["MyDB", "Demo"], contexts!.Select(c => c.GetProperty("name").GetString()));
        Assert.Contains("SYNTHETIC", contexts![1].GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuickQuery_TSqlOnTheDemoCatalogue_ReturnsRows()
    {
        using var client = await NewUserAsync();

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query",
            new { query = "SELECT TOP 5 [id], ra, dec, class FROM erass_synthetic WHERE det_like > 6 ORDER BY id" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var set = body.GetProperty("resultSets")[0];
        Assert.Equal(["id", "ra", "dec", "class"], set.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal([1L, 2, 3, 4, 5], set.GetProperty("rows").EnumerateArray().Select(r => r[0].GetInt64()));
    }

    [Fact]
    public async Task SelectIntoMyDb_ThenQueryMyDb_KeepsTheTable()
    {
        using var client = await NewUserAsync();

        var into = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query",
            new { query = "SELECT TOP 10 id, ra, dec INTO mydb.bright FROM erass_synthetic ORDER BY flux_05_2 DESC" });
        var count = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT count(*) AS n FROM bright" });

        Assert.Equal(HttpStatusCode.OK, into.StatusCode);
        Assert.Equal(10, (await count.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Tables_OfTheDemoAndOfMyDb()
    {
        using var client = await NewUserAsync();
        await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE mine AS SELECT range AS x FROM range(7)" });

        var demo = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/Demo/tables");
        var mydb = await client.GetFromJsonAsync<JsonElement[]>("/CasJobs/RestApi/contexts/MyDB/Tables");

        var table = Assert.Single(demo!);
        Assert.Equal("erass_synthetic", table.GetProperty("name").GetString());
        Assert.Equal(2000, table.GetProperty("rows").GetInt64());
        Assert.Equal(12, table.GetProperty("columns").GetInt64());
        var mine = Assert.Single(mydb!);
        Assert.Equal("mine", mine.GetProperty("Name").GetString());
        Assert.Equal(7, mine.GetProperty("Rows").GetInt64());
        Assert.True(mine.GetProperty("Size").GetInt64() > 0);
        var native = (await client.GetFromJsonAsync<JsonElement>("/api/casjobs/mydb")).GetProperty("tables")[0];
        Assert.Equal(native.GetProperty("createdAt").GetDateTimeOffset(), mine.GetProperty("Date").GetDateTimeOffset());
        // The SciServer route gives a catalog table's size too, and the date it was registered.
        var sciserverDemo = Assert.Single((await client.GetFromJsonAsync<JsonElement[]>("/CasJobs/RestApi/contexts/Demo/Tables"))!);
        Assert.Equal(2000, sciserverDemo.GetProperty("Rows").GetInt64());
        Assert.InRange(sciserverDemo.GetProperty("Size").GetInt64(), 2000 * 8, 2000 * 200);
        Assert.Equal(JsonValueKind.String, sciserverDemo.GetProperty("Date").ValueKind);
    }

    [Fact]
    public async Task UsersRoute_AnswersTheCallersOwnStableId_Only()
    {
        using var client = await NewUserAsync();
        var me = (await client.GetFromJsonAsync<JsonElement>("/api/account")).GetProperty("id").GetString();

        var first = await client.GetFromJsonAsync<JsonElement>($"/CasJobs/RestApi/users/{me}");
        var again = await client.GetFromJsonAsync<JsonElement>($"/CasJobs/RestApi/users/{me}");
        var someoneElse = await client.GetAsync($"/CasJobs/RestApi/users/{Guid.NewGuid()}");

        Assert.True(first.GetProperty("WebServicesId").GetInt32() > 0);
        Assert.Equal(first.GetProperty("WebServicesId").GetInt32(), again.GetProperty("WebServicesId").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, someoneElse.StatusCode);
        Assert.Equal("error", (await someoneElse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("csv", "text/plain")]
    [InlineData("fits", "application/fits")]
    [InlineData("votable", "application/x-votable+xml")]
    public async Task NativeQuery_FormatParameter_ReturnsAFile(string format, string mediaType)
    {
        using var client = await NewUserAsync();

        var response = await client.PostAsJsonAsync($"/api/casjobs/contexts/Demo/query?format={format}", new { query = "SELECT TOP 3 id, ra FROM erass_synthetic" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 10);
    }

    [Fact]
    public async Task NativeQuery_UnknownFormat_Returns400()
    {
        using var client = await NewUserAsync();

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query?format=xlsx", new { query = "SELECT 1" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Unknown format", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SciServerRoute_JsonArrayAndCsv()
    {
        using var client = await NewUserAsync();
        var body = new { Query = "SELECT TOP 2 id, class FROM erass_synthetic ORDER BY id; SELECT 1 AS one", TaskName = "test" };

        using var json = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/demo/query") { Content = JsonContent.Create(body) };
        json.Headers.Accept.ParseAdd("application/json+array");
        var result = await (await client.SendAsync(json)).Content.ReadFromJsonAsync<JsonElement>();
        using var csv = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/Demo/query") { Content = JsonContent.Create(body) };
        csv.Headers.Accept.ParseAdd("text/plain");
        var text = await (await client.SendAsync(csv)).Content.ReadAsStringAsync();

        Assert.Equal(2, result.GetProperty("Result").GetArrayLength());
        Assert.Equal(["id", "class"], result.GetProperty("Result")[0].GetProperty("Columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(2, result.GetProperty("Result")[0].GetProperty("Data").GetArrayLength());
        Assert.StartsWith("id,class\n1,", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT 1 AS a;\n\nSELECT TOP 2 id\nFROM erass_synthetic\nWHERE no_such_column > 1", "LINE 5:")]
    [InlineData("\n\nSELECT id\nFROM erass_synthetic\nWHERE no_such_column > 1 LIMIT 2", "LINE 5:")]
    [InlineData("SELECT id FROM erass_synthetic WHERE no_such_column > 1", "LINE 1:")]
    public async Task QuickQuery_ErrorInALaterLine_NamesTheLineOfTheUsersText(string query, string line)
    {
        using var client = await NewUserAsync();

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        Assert.Contains("no_such_column", detail, StringComparison.Ordinal);
        Assert.Contains(line, detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("SELECT * FROM read_csv('/etc/passwd')", "")]
    [InlineData("INSERT INTO erass_synthetic SELECT * FROM erass_synthetic", "")]
    [InlineData("ATTACH '/etc/passwd' AS x", "")]
    [InlineData("SELEC nonsense", "syntax")]
    public async Task BadOrHostileSql_Returns400WithTheEnginesMessage(string query, string expected)
    {
        using var client = await NewUserAsync();

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
        Assert.Contains(expected, detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("root:x:0", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HugeSqlText_Returns400_UnknownContext_Returns404()
    {
        using var client = await NewUserAsync();

        var huge = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT 1 -- " + new string('x', 10_000_000) });
        var unknown = await client.PostAsJsonAsync("/api/casjobs/contexts/NoSuchCatalog/query", new { query = "SELECT 1" });

        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Contains("at most", await huge.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task MyDb_IsPrivate_AnotherUserCannotReadIt()
    {
        using var alice = await NewUserAsync();
        using var bob = await NewUserAsync();
        await alice.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE secret AS SELECT 'alice only' AS v" });

        var response = await bob.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT * FROM secret" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain("alice only", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<HttpClient> NewUserAsync() =>
        platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("c")));
}

public sealed class CasJobsApiSqliteTests(SqlitePlatform platform) : CasJobsApiTests(platform), IClassFixture<SqlitePlatform>;

public sealed class CasJobsApiPostgresTests(PostgresPlatform platform) : CasJobsApiTests(platform), IClassFixture<PostgresPlatform>;
