using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Sky functions through the API: on the demo catalogue, on an imported catalog, and their errors; the platform database does not matter here.</summary>
public sealed class SkyApiTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task Cone_OnTheDemoCatalogue_EqualsTheBruteForceFilter_NativeAndSciServerRoutes()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("sky")));

        var cone = await RowsAsync(client, "SELECT id FROM erass_synthetic WHERE cone(ra, dec, 150, 20, 25) ORDER BY id");
        var bruteForce = await RowsAsync(client, "SELECT id FROM erass_synthetic WHERE angdist(ra, dec, 150, 20) <= 25 ORDER BY id");
        var sciServer = await client.PostAsJsonAsync("/CasJobs/RestApi/contexts/Demo/query",
            new { Query = "SELECT TOP 5 objID, distance FROM dbo.fGetNearbyObjEq(150, 20, 1500) ORDER BY distance" });

        Assert.True(cone.Count > 10, $"{cone.Count} sources");
        Assert.Equal(bruteForce.Select(r => r[0].GetInt64()), cone.Select(r => r[0].GetInt64()));
        Assert.Equal(HttpStatusCode.OK, sciServer.StatusCode);
        var result = (await sciServer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("Result")[0];
        Assert.Equal(["objID", "distance"], result.GetProperty("Columns").EnumerateArray().Select(c => c.GetString()));
        var distances = result.GetProperty("Data").EnumerateArray().Select(r => r[1].GetDouble()).ToList();
        Assert.Equal(5, distances.Count);
        Assert.Equal(distances.Order(), distances);
    }

    [Fact]
    public async Task SkyFunctionErrors_Return400_NamingTheFunction()
    {
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("sky")));

        var negative = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT * FROM erass_synthetic WHERE cone(ra, dec, 10, 20, -1)" });
        var column = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "SELECT * FROM fGetNearbyObjEq(ra, 20, 1)" });
        var myDb = await client.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "SELECT * FROM fGetNearbyObjEq(10, 20, 1)" });
        var job = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context = "Demo", query = "SELECT * INTO mydb.x FROM fGetNearbyObjEq(10, 95, 1)" });

        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Contains("cone: the radius must be between 0 and 180 degrees; got -1.", await negative.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, column.StatusCode);
        Assert.Contains("fGetNearbyObjEq: the centre and the radius must be numbers", await column.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, myDb.StatusCode);
        Assert.Contains("no sky-indexed table", await myDb.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, job.StatusCode);
        Assert.Contains("fGetNearbyObjEq: the centre's declination must be between -90 and 90 degrees; got 95.", await job.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImportedCsvWithRaDec_GetsTheHealpixColumn_AndConeAndCrossmatchWork()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var lines = Enumerable.Range(0, 500).Select(i => FormattableString.Invariant($"{i},{(i * 137.508) % 360},{(i * 47.3) % 180 - 90},s{i}"));
        var csv = world.Text("sources.csv", "id,RA,Dec,name\n" + string.Join('\n', lines) + "\n");
        var name = PlatformFactory.UniqueName("Sky");
        await world.RegisterAsync(name, csv, isPublic: true);
        using var client = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("sky")));

        var columns = await client.GetFromJsonAsync<JsonElement[]>($"/api/casjobs/contexts/{name}/tables/sources/columns");
        var ordered = await RowsAsync(client, "SELECT count(*) FROM (SELECT healpix < lag(healpix) OVER (ORDER BY rowid) AS back FROM sources) WHERE back", name);
        var cone = await RowsAsync(client, "SELECT id FROM sources WHERE cone(RA, Dec, 100, -10, 30) ORDER BY id", name);
        var bruteForce = await RowsAsync(client, "SELECT id FROM sources WHERE angdist(RA, Dec, 100, -10) <= 30 ORDER BY id", name);
        var nearby = await RowsAsync(client, "SELECT id FROM fGetNearbyObjEq(100, -10, 1800) ORDER BY id", name);
        var pairs = await RowsAsync(client, "SELECT count(*) FROM xmatch('sources', 'sources', 1) x WHERE x.t1.id = x.t2.id", name);

        Assert.Contains(columns!, c => c.GetProperty("name").GetString() == "healpix" && c.GetProperty("type").GetString() == "BIGINT");
        Assert.Equal(0, ordered[0][0].GetInt64());
        Assert.NotEmpty(cone);
        Assert.Equal(bruteForce.Select(r => r[0].GetInt64()), cone.Select(r => r[0].GetInt64()));
        Assert.Equal(bruteForce.Select(r => r[0].GetInt64()), nearby.Select(r => r[0].GetInt64()));
        Assert.Equal(500, pairs[0][0].GetInt64());
    }

    private static async Task<List<JsonElement[]>> RowsAsync(HttpClient client, string sql, string context = "Demo")
    {
        var response = await client.PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("resultSets")[0].GetProperty("rows").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.Clone()).ToArray()).ToList();
    }
}
