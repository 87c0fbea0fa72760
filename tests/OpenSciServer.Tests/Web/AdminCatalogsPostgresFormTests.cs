using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.CasJobs;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>The Catalogs page's PostgreSQL form: a schema on a configured server becomes a context, as through the API.</summary>
public sealed class AdminCatalogsPostgresFormTests(PostgresCatalogPlatform platform) : IClassFixture<PostgresCatalogPlatform>
{
    [Fact]
    public async Task RegisterPostgresSchema_ThroughTheForm_ListsItAndItAnswersQueries()
    {
        await platform.ExecuteAsync("CREATE SCHEMA IF NOT EXISTS webform; CREATE TABLE IF NOT EXISTS webform.objects AS SELECT g AS id FROM generate_series(1, 7) g; ANALYZE webform.objects;");
        var name = PlatformFactory.UniqueName("PgForm");
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);
        var (_, page) = await admin.GetAsync("/admin/catalogs");

        var (response, html) = await admin.SubmitAsync("/admin/catalogs", "register-postgres",
        [
            new("Postgres.Name", name), new("Postgres.Server", "hpc"), new("Postgres.Database", platform.CatalogDatabase), new("Postgres.Schema", "webform"),
            new("Postgres.Description", "Objects in PostgreSQL"), new("Postgres.TimeoutSeconds", "30"), new("Postgres.Public", "true"),
        ]);
        var query = await platform.CreateApiClient(clientAddress: "198.51.100.30").PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*) FROM objects" });
        var (missing, missingHtml) = await admin.SubmitAsync("/admin/catalogs", "register-postgres",
            [new("Postgres.Name", PlatformFactory.UniqueName("PgNo")), new("Postgres.Server", "hpc"), new("Postgres.Database", platform.CatalogDatabase), new("Postgres.Schema", "nosuchschema")]);

        Assert.Contains("<option value=\"hpc\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"Registered &#x27;{name}&#x27; (postgres://hpc/{platform.CatalogDatabase}/webform): 1 table(s).", html, StringComparison.Ordinal);
        Assert.Contains($"data-testid=\"catalog-{name}\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        Assert.Equal(7, (await query.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.True(missing.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{missing.StatusCode}");
        Assert.Contains("nosuchschema", missingHtml, StringComparison.Ordinal);
    }
}
