using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenSciServer.CasJobs;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Quick queries without login on contexts shared with the group public, with their stricter limits; on both databases.</summary>
public abstract class ContextAnonymousTests(PlatformFactory platform)
{
    public const int MaxRows = 50;

    public const int PerMinute = 8;

    [Fact]
    public async Task PublicContext_AnswersWithoutToken_NativeAndSciServerRoutes()
    {
        using var anonymous = Anonymous();

        var native = await anonymous.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT TOP 3 id, ra FROM erass_synthetic ORDER BY id" });
        using var compat = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/Demo/query") { Content = JsonContent.Create(new { Query = "SELECT count(*) AS n FROM erass_synthetic" }) };
        compat.Headers.Accept.ParseAdd("application/json+array");
        var sciserver = await anonymous.SendAsync(compat);
        var tables = await anonymous.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/Demo/tables");
        var columns = await anonymous.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/Demo/tables/erass_synthetic/columns");

        Assert.Equal(HttpStatusCode.OK, native.StatusCode);
        Assert.Equal([1L, 2, 3], (await native.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows").EnumerateArray().Select(r => r[0].GetInt64()));
        Assert.Equal(HttpStatusCode.OK, sciserver.StatusCode);
        Assert.Equal(2000, (await sciserver.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("Result")[0].GetProperty("Data")[0][0].GetInt64());
        Assert.Equal("erass_synthetic", Assert.Single(tables!).GetProperty("name").GetString());
        Assert.Equal("deg", columns!.Single(c => c.GetProperty("name").GetString() == "ra").GetProperty("unit").GetString());
    }

    [Fact]
    public async Task Contexts_WithoutToken_ListOnlyPublicOnes_AndNoMyDb()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var hidden = PlatformFactory.UniqueName("Hidden");
        await world.RegisterAsync(hidden, world.DuckDb("h.duckdb", "CREATE TABLE t AS SELECT 1 AS x"));
        using var anonymous = Anonymous();

        var contexts = await anonymous.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts");

        var names = contexts!.Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains("Demo", names);
        Assert.DoesNotContain("MyDB", names);
        Assert.DoesNotContain(hidden, names);
        Assert.All(contexts!, c => Assert.True(c.GetProperty("isPublic").GetBoolean()));
    }

    [Fact]
    public async Task NonPublicContext_AndMyDb_WithoutToken_Return401()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var hidden = PlatformFactory.UniqueName("Hidden");
        await world.RegisterAsync(hidden, world.DuckDb("p.duckdb", "CREATE TABLE t AS SELECT 1 AS x"));
        using var anonymous = Anonymous();

        var privateContext = await anonymous.PostAsJsonAsync($"/api/casjobs/contexts/{hidden}/query", new { query = "SELECT * FROM t" });
        var unknown = await anonymous.PostAsJsonAsync("/api/casjobs/contexts/NoSuchCatalog/query", new { query = "SELECT 1" });
        var mydb = await anonymous.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT 1" });
        var tables = await anonymous.GetAsync($"/CasJobs/RestApi/contexts/{hidden}/Tables");
        var upload = await anonymous.PostAsync("/CasJobs/RestApi/contexts/MyDB/Tables/t", new StringContent("a\n1\n"));

        Assert.Equal(HttpStatusCode.Unauthorized, privateContext.StatusCode);
        Assert.Contains("Log in", await privateContext.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, mydb.StatusCode);
        await SciServerAssert.ErrorAsync(tables, HttpStatusCode.Unauthorized, "Log in");
        Assert.Equal(HttpStatusCode.Unauthorized, upload.StatusCode);
    }

    [Fact]
    public async Task InvalidToken_OnAPublicContext_Returns401_NotAnonymousAnswer()
    {
        using var client = platform.CreateApiClient("not-a-real-token", clientAddress: NextAddress());

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT 1" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("SELECT TOP 5 id INTO mydb.mine FROM erass_synthetic")]
    [InlineData("CREATE TABLE mine AS SELECT 1 AS x")]
    [InlineData("SELECT 1 AS a; DROP TABLE erass_synthetic")]
    public async Task WritingWithoutLogin_Returns400_SayingToLogIn(string query)
    {
        using var anonymous = Anonymous();

        var response = await anonymous.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("log in", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WithoutLogin_RowsAreCutAtTheAnonymousLimit()
    {
        using var anonymous = Anonymous();
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("r")));

        var cut = await anonymous.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT id FROM erass_synthetic" });
        var full = await user.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT id FROM erass_synthetic" });

        var anonymousSet = (await cut.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0];
        Assert.Equal(MaxRows, anonymousSet.GetProperty("rows").GetArrayLength());
        Assert.True(anonymousSet.GetProperty("truncated").GetBoolean());
        Assert.Equal(2000, (await full.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task WithoutLogin_TooManyQueriesFromOneAddress_Return429WithRetryAfter_OtherAddressesUnaffected()
    {
        using var busy = Anonymous();
        using var other = Anonymous();
        for (var i = 0; i < PerMinute; i++)
        {
            var ok = await busy.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT 1" });
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var refused = await busy.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT 1" });
        var elsewhere = await other.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT 1" });

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Contains("log in", await refused.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
    }

    private static int _address;

    private static string NextAddress() => $"203.0.113.{Interlocked.Increment(ref _address) % 250 + 1}";

    private HttpClient Anonymous() => platform.CreateApiClient(clientAddress: NextAddress());
}

public sealed class ContextAnonymousSqliteTests(AnonymousSqlitePlatform platform) : ContextAnonymousTests(platform), IClassFixture<AnonymousSqlitePlatform>;

public sealed class ContextAnonymousPostgresTests(AnonymousPostgresPlatform platform) : ContextAnonymousTests(platform), IClassFixture<AnonymousPostgresPlatform>;

/// <summary>The worker of a query without login has no MyDB: its sandbox binds nothing writable.</summary>
public sealed class ContextAnonymousSandboxTests
{
    [Fact]
    public void WorkerCommand_InMemoryMainDatabase_BindsOnlyTheContextReadOnly()
    {
        var runner = new QueryRunner(Options.Create(new CasJobsOptions()), NullLogger<QueryRunner>.Instance);

        var (_, args) = runner.WorkerCommand(new WorkerRequest(DuckDbSandbox.InMemory, "/srv/catalogs/public.duckdb", "1GiB", 1, 10, []));

        Assert.DoesNotContain("--bind", args);
        Assert.Contains("/srv/catalogs/public.duckdb", args);
        Assert.Equal("--ro-bind", args[args.IndexOf("/srv/catalogs/public.duckdb") - 1]);
    }
}

/// <summary>A host with small anonymous limits, so the tests reach them quickly.</summary>
public sealed class AnonymousSqlitePlatform : PlatformFactory
{
    public AnonymousSqlitePlatform()
        : base(DatabaseKind.Sqlite)
    {
        Settings["CasJobs:AnonymousMaxRows"] = ContextAnonymousTests.MaxRows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Settings["CasJobs:AnonymousQueriesPerMinute"] = ContextAnonymousTests.PerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

public sealed class AnonymousPostgresPlatform : PlatformFactory
{
    public AnonymousPostgresPlatform()
        : base(DatabaseKind.Postgres)
    {
        Settings["CasJobs:AnonymousMaxRows"] = ContextAnonymousTests.MaxRows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Settings["CasJobs:AnonymousQueriesPerMinute"] = ContextAnonymousTests.PerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
