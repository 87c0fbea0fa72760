using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenSciServer.CasJobs;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>Table and column descriptions and units: set by admins, shown by the tables and columns routes; the demo's own; on both databases.</summary>
public abstract class ContextDescriptionTests(PlatformFactory platform)
{
    [Fact]
    public async Task SetDescriptions_RoundTrip_ShowInTablesAndColumns()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("d.duckdb",
            "CREATE TABLE sources (id BIGINT, ra DOUBLE, flux DOUBLE)", "CREATE TABLE fields (field_id INTEGER)");
        var name = PlatformFactory.UniqueName("Desc");
        await world.RegisterAsync(name, file, isPublic: true);
        var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("d")));

        var set = await world.Admin.PutAsJsonAsync($"/api/admin/casjobs/contexts/{name}/descriptions", new object[]
        {
            new { table = "sources", description = "Detected sources" },
            new { table = "SOURCES", column = "RA", description = "Right ascension", unit = "deg" },
            new { table = "sources", column = "flux", description = "0.5-2 keV flux", unit = "erg/s/cm^2" },
        });
        var changed = await world.Admin.PutAsJsonAsync($"/api/admin/casjobs/contexts/{name}/descriptions", new object[]
        {
            new { table = "sources", column = "flux", description = "", unit = "" },
        });
        var tables = await user.GetFromJsonAsync<JsonElement[]>($"/api/casjobs/contexts/{name}/tables");
        var columns = await user.GetFromJsonAsync<JsonElement[]>($"/api/casjobs/contexts/{name.ToLowerInvariant()}/tables/Sources/columns");
        var detail = await world.Admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/contexts/{name}");

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(3, (await set.Content.ReadFromJsonAsync<JsonElement[]>())!.Length);
        Assert.Equal(2, (await changed.Content.ReadFromJsonAsync<JsonElement[]>())!.Length);
        Assert.Equal("Detected sources", tables!.Single(t => t.GetProperty("name").GetString() == "sources").GetProperty("description").GetString());
        Assert.Equal("", tables!.Single(t => t.GetProperty("name").GetString() == "fields").GetProperty("description").GetString());
        Assert.Equal(["id", "ra", "flux"], columns!.Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(["BIGINT", "DOUBLE", "DOUBLE"], columns!.Select(c => c.GetProperty("type").GetString()));
        Assert.Equal(("Right ascension", "deg"), (columns![1].GetProperty("description").GetString(), columns[1].GetProperty("unit").GetString()));
        Assert.Equal(("", ""), (columns![2].GetProperty("description").GetString(), columns[2].GetProperty("unit").GetString()));
        Assert.Equal(2, detail.GetProperty("descriptions").GetArrayLength());
    }

    [Theory]
    [InlineData("nosuchtable", null, "", "no table 'nosuchtable'")]
    [InlineData("sources", "nosuchcolumn", "", "no column 'nosuchcolumn'")]
    [InlineData("sources", null, "deg", "A table has no unit")]
    [InlineData("sources", "ra", "deg\nrad", "one line")]
    public async Task SetDescriptions_UnknownTableOrColumnOrBadUnit_Returns400_AndChangesNothing(string table, string? column, string unit, string expected)
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("u.duckdb", "CREATE TABLE sources (id BIGINT, ra DOUBLE)");
        var name = PlatformFactory.UniqueName("Unk");
        await world.RegisterAsync(name, file);

        var response = await world.Admin.PutAsJsonAsync($"/api/admin/casjobs/contexts/{name}/descriptions", new object[]
        {
            new { table = "sources", column = "id", description = "kept only if all are valid" },
            new { table, column, description = "x", unit },
        });
        var detail = await world.Admin.GetFromJsonAsync<JsonElement>($"/api/admin/casjobs/contexts/{name}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, detail.GetProperty("descriptions").GetArrayLength());
    }

    [Fact]
    public async Task Columns_OfMyDbAndOfTheDemo()
    {
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("m")));
        await user.PostAsJsonAsync("/api/casjobs/contexts/MyDB/query", new { query = "CREATE TABLE mine AS SELECT 1::INTEGER AS n, 'a' AS label" });

        var mine = await user.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/MyDB/tables/mine/columns");
        var demo = await user.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/Demo/tables/erass_synthetic/columns");
        var demoTables = await user.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/Demo/tables");
        var missing = await user.GetAsync("/api/casjobs/contexts/Demo/tables/nope/columns");

        Assert.Equal(["n", "label"], mine!.Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(["INTEGER", "VARCHAR"], mine!.Select(c => c.GetProperty("type").GetString()));
        Assert.All(mine!, c => Assert.Equal("", c.GetProperty("description").GetString() + c.GetProperty("unit").GetString()));
        Assert.Equal(12, demo!.Length);
        Assert.Equal("deg", demo!.Single(c => c.GetProperty("name").GetString() == "ra").GetProperty("unit").GetString());
        Assert.Equal("erg/s/cm^2", demo!.Single(c => c.GetProperty("name").GetString() == "flux_05_2_err").GetProperty("unit").GetString());
        Assert.Equal("arcsec", demo!.Single(c => c.GetProperty("name").GetString() == "ext").GetProperty("unit").GetString());
        Assert.Contains("SYNTHETIC", Assert.Single(demoTables!).GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Contexts_CarryTheTimeLimitAndWhetherTheyArePublic()
    {
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("l")));

        var contexts = await user.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts");

        Assert.Equal(60, contexts![0].GetProperty("timeoutSeconds").GetInt32());
        Assert.False(contexts[0].GetProperty("isPublic").GetBoolean());
        var demo = contexts.Single(c => c.GetProperty("name").GetString() == "Demo");
        Assert.Equal(60, demo.GetProperty("timeoutSeconds").GetInt32());
        Assert.True(demo.GetProperty("isPublic").GetBoolean());
    }
}

public sealed class ContextDescriptionSqliteTests(SqlitePlatform platform) : ContextDescriptionTests(platform), IClassFixture<SqlitePlatform>;

public sealed class ContextDescriptionPostgresTests(PostgresPlatform platform) : ContextDescriptionTests(platform), IClassFixture<PostgresPlatform>;

/// <summary>A server whose demo catalogue was built before descriptions existed gets them at its next start.</summary>
public sealed class ContextDemoSeedTests
{
    [Fact]
    public async Task Restart_DemoWithoutDescriptions_GetsThemSeeded()
    {
        var data = Path.Combine(Path.GetTempPath(), "oss-test-seed-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await using (var first = new PlatformFactory(DatabaseKind.Sqlite, data))
            {
                await first.InitializeAsync();
                await using var scope = first.Services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<PlatformDbContext>();
                // As on a server from before descriptions: none at all.
                Assert.True(await db.Set<CatalogDescription>().ExecuteDeleteAsync() > 0);
            }

            await using var second = new PlatformFactory(DatabaseKind.Sqlite, data);
            await second.InitializeAsync();
            using var user = second.CreateApiClient(await second.CreateUserAsync(PlatformFactory.UniqueName("s")));

            var columns = await user.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/Demo/tables/erass_synthetic/columns");

            Assert.Equal("deg", columns!.Single(c => c.GetProperty("name").GetString() == "dec").GetProperty("unit").GetString());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
