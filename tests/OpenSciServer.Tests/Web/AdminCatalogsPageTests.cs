using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.Tests.CasJobs;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Web;

/// <summary>The admin's catalog page, driven through its forms as a browser without JavaScript would.</summary>
public sealed class AdminCatalogsPageTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task RegisterEditShareDescribe_ThenUnregister_ThroughTheForms()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.DuckDb("survey.duckdb", "CREATE TABLE objects (id BIGINT, ra DOUBLE, dec DOUBLE)", "INSERT INTO objects VALUES (1, 10, 20), (2, 11, 21)");
        var name = PlatformFactory.UniqueName("Survey");
        var userName = PlatformFactory.UniqueName("p");
        using var user = platform.CreateApiClient(await platform.CreateUserAsync(userName));
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (registered, html) = await admin.SubmitAsync("/admin/catalogs", "register-catalog",
            [new("Register.Name", name), new("Register.Path", world.PathOf(file)), new("Register.Description", "<i>A survey</i>")]);
        Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        Assert.Contains($"data-testid=\"catalog-{name}\"", html, StringComparison.Ordinal);
        Assert.Contains("&lt;i&gt;A survey&lt;/i&gt;", html, StringComparison.Ordinal);
        Assert.Contains("2 rows", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" })).StatusCode);

        var page = $"/admin/catalogs?context={name}";
        var (edited, editedHtml) = await admin.SubmitAsync(page, "edit-catalog",
            [new("Edit.Description", "The survey, edited"), new("Edit.TimeoutSeconds", "5"), new("Edit.Public", "true")]);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Contains("data-testid=\"public-badge\"", editedHtml, StringComparison.Ordinal);
        var anonymous = await platform.CreateApiClient(clientAddress: "198.51.100.7").PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT count(*) FROM objects" });
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        var listed = (await user.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts"))!.Single(c => c.GetProperty("name").GetString() == name);
        Assert.Equal(5, listed.GetProperty("timeoutSeconds").GetInt32());
        Assert.Equal("The survey, edited", listed.GetProperty("description").GetString());

        await admin.SubmitAsync(page, "edit-catalog", [new("Edit.Description", "The survey, edited")]);
        var (_, sharedHtml) = await admin.SubmitAsync(page, "share-catalog", [new("Share.Type", "user"), new("Share.Name", userName), new("Share.Query", "true")]);
        Assert.Contains($"user <strong>{userName}</strong>: query", sharedHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await platform.CreateApiClient(clientAddress: "198.51.100.8").PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" })).StatusCode);

        var (described, describedHtml) = await admin.SubmitAsync(page, "describe-table",
        [
            new("Describe.Table", "objects"), new("Describe.TableDescription", "Detected objects"),
            new("Describe.Columns[0].Name", "id"), new("Describe.Columns[0].Description", "Object number"), new("Describe.Columns[0].Unit", ""),
            new("Describe.Columns[1].Name", "ra"), new("Describe.Columns[1].Description", "Right ascension"), new("Describe.Columns[1].Unit", "deg"),
        ]);
        Assert.Equal(HttpStatusCode.OK, described.StatusCode);
        Assert.Contains("value=\"Right ascension\"", describedHtml, StringComparison.Ordinal);
        var columns = await user.GetFromJsonAsync<JsonElement[]>($"/api/casjobs/contexts/{name}/tables/objects/columns");
        Assert.Equal("deg", columns!.Single(c => c.GetProperty("name").GetString() == "ra").GetProperty("unit").GetString());
        Assert.Equal("Detected objects", (await user.GetFromJsonAsync<JsonElement[]>($"/api/casjobs/contexts/{name}/tables"))![0].GetProperty("description").GetString());

        var (removed, removedHtml) = await admin.SubmitAsync("/admin/catalogs", "catalog-action", [new("Command", $"unregister:{name}")]);
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Contains("its file is still where it was", removedHtml, StringComparison.Ordinal);
        Assert.DoesNotContain($"data-testid=\"catalog-{name}\"", removedHtml, StringComparison.Ordinal);
        Assert.True(File.Exists(file));
        Assert.Equal(HttpStatusCode.NotFound, (await user.PostAsJsonAsync($"/api/casjobs/contexts/{name}/query", new { query = "SELECT 1" })).StatusCode);
    }

    [Fact]
    public async Task ImportCsv_ThroughTheForm_ShowsTheTableAndRows()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var csv = world.Text("clusters.csv", "id,z\n1,0.1\n2,0.25\n3,0.5\n");
        var name = PlatformFactory.UniqueName("Clu");
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (response, html) = await admin.SubmitAsync("/admin/catalogs", "register-catalog",
            [new("Register.Name", name), new("Register.Path", world.PathOf(csv)), new("Register.Table", "clusters"), new("Register.Public", "true")]);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"Importing &#x27;{name}&#x27;", html, StringComparison.Ordinal);
        Assert.Contains($"data-testid=\"import-{name}\"", html, StringComparison.Ordinal);
        var id = (await world.Admin.GetFromJsonAsync<JsonElement[]>("/api/admin/casjobs/imports"))!.First(i => i.GetProperty("name").GetString() == name).GetProperty("id").GetString()!;
        Assert.Equal("Ready", (await world.WaitForImportAsync(id)).GetProperty("state").GetString());
        var (_, after) = await admin.GetAsync("/admin/catalogs");

        Assert.Contains($"data-testid=\"catalog-{name}\"", after, StringComparison.Ordinal);
        Assert.Contains("3 rows", after, StringComparison.Ordinal);
        Assert.Contains(">imported</span>", after, StringComparison.Ordinal);
        Assert.Contains(">Ready</span>", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_NotADuckDbFile_Returns400BesideTheField()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var file = world.Text("fake.duckdb", "plain text");
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (response, html) = await admin.SubmitAsync("/admin/catalogs", "register-catalog",
            [new("Register.Name", PlatformFactory.UniqueName("Fake")), new("Register.Path", world.PathOf(file))]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<div class=\"validation-message\">&#x27;", html, StringComparison.Ordinal);
        Assert.Contains("could not be opened as a DuckDB database", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeUnknownColumn_Returns400WithTheMessage()
    {
        var world = await CatalogWorld.CreateAsync(platform);
        var name = PlatformFactory.UniqueName("Unk");
        await world.RegisterAsync(name, world.DuckDb("k.duckdb", "CREATE TABLE t (x INTEGER)"));
        using var admin = new FormClient(platform);
        await admin.LoginAsync("admin", PlatformFactory.AdminPassword);

        var (response, html) = await admin.SubmitAsync($"/admin/catalogs?context={name}", "describe-table",
            [new("Describe.Table", "t"), new("Describe.Columns[0].Name", "nope"), new("Describe.Columns[0].Description", "?")]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no column &#x27;nope&#x27;", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_IsForSiteAdminsOnly()
    {
        var name = PlatformFactory.UniqueName();
        await platform.CreateUserAsync(name);
        using var user = new FormClient(platform);
        await user.LoginAsync(name, "a-good-long-password");

        var (response, _) = await user.GetAsync("/admin/catalogs");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("/denied", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }
}
