using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Npgsql;
using OpenSciServer.Compat;
using OpenSciServer.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OpenSciServer.Tests.Browser;

/// <summary>The browser platform with a PostgreSQL server "hpc" (the private cluster) and a public catalog context PgBrowse in it.</summary>
public sealed class PostgresBrowserFixture : IAsyncLifetime
{
    public BrowserFixture Inner { get; } = new();

    public string CatalogDatabase { get; } = "brw" + Guid.NewGuid().ToString("N")[..12];

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        await using (var postgres = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await postgres.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {CatalogDatabase}", postgres);
            await create.ExecuteNonQueryAsync();
        }

        await using (var catalog = new NpgsqlConnection(server.ConnectionString(CatalogDatabase)))
        {
            await catalog.OpenAsync();
            await using var create = new NpgsqlCommand(
                "CREATE EXTENSION q3c; CREATE SCHEMA sky; CREATE TABLE sky.sources AS SELECT i::bigint AS id, (i * 3)::float8 AS ra, 0.0::float8 AS dec FROM generate_series(1, 50) AS i; ANALYZE sky.sources;", catalog);
            await create.ExecuteNonQueryAsync();
        }

        Inner.Platform.Settings["CasJobs:PostgresServers:hpc:ConnectionString"] = server.ConnectionString(CatalogDatabase);
        await Inner.InitializeAsync();
        using var root = new HttpClient { BaseAddress = new Uri(Inner.BaseUrl) };
        var login = await root.PostAsJsonAsync("/login-portal/keystone/v3/tokens", Keystone.Body("admin", PlatformFactory.AdminPassword));
        root.DefaultRequestHeaders.Add("X-Auth-Token", login.Headers.GetValues(KeystoneEndpoints.SubjectTokenHeader).Single());
        var registered = await root.PostAsJsonAsync("/api/admin/casjobs/contexts",
            new { name = "PgBrowse", engine = "postgres", server = "hpc", database = CatalogDatabase, schema = "sky", isPublic = true, description = "A catalog in PostgreSQL" });
        Assert.True(registered.StatusCode == HttpStatusCode.Created, await registered.Content.ReadAsStringAsync());
    }

    public Task DisposeAsync() => Inner.DisposeAsync();
}

/// <summary>
/// A scientist querying a catalog that lives in PostgreSQL: the table their query keeps in MyDB appears under the
/// context's tables and in the MyDB tab (its database, rows and space used), and they drop it from there.
/// </summary>
public sealed class PostgresMyDbJourneyTests(PostgresBrowserFixture fixture) : IClassFixture<PostgresBrowserFixture>
{
    private const string Password = "browser-test-password";

    [Fact]
    public async Task SelectIntoMyDb_InAPostgresContext_TableShownInSchemaAndMyDb_DroppedFromThePage()
    {
        var user = PlatformFactory.UniqueName("pgweb");
        await fixture.Inner.CreateUserAsync(user, Password);
        await using var context = await fixture.Inner.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.Inner.BaseUrl, ViewportSize = new() { Width = 1366, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/login");
        await page.FillAsync("#username", user);
        await page.FillAsync("#password", Password);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[data-testid=current-user]")).ToHaveTextAsync(user);

        await page.GotoAsync("/casjobs");
        await page.SelectOptionAsync("[data-testid=context-select]", "PgBrowse");
        await Expect(page.Locator("[data-testid=schema-table][data-table=sources]")).ToBeVisibleAsync();

        // A quick query keeps five rows in MyDB: the schema browser lists the new table under "Your MyDB here".
        await page.ClickAsync("[data-testid=sql-codemirror] .CodeMirror-code");
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.PressAsync("Delete");
        await page.Keyboard.TypeAsync("SELECT TOP 5 id, ra INTO mydb.picked FROM sources ORDER BY id");
        await page.Keyboard.PressAsync("Escape");
        await page.ClickAsync("[data-testid=run-quick]");
        await Expect(page.Locator("[data-testid=run-status]")).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        var inSchema = page.Locator("[data-testid=schema-pgmydb-table][data-table=picked]");
        await Expect(inSchema).ToContainTextAsync("mydb.picked");
        await Expect(inSchema).ToContainTextAsync("5 rows");

        // The MyDB tab shows the PostgreSQL schema with the table, its rows and the space used against the quota.
        await page.ClickAsync("[data-testid=tab-mydb]");
        var schema = page.Locator($"[data-testid=pgmydb-schema][data-database={fixture.CatalogDatabase}]");
        await Expect(schema.Locator("[data-testid=pgmydb-name]")).ToHaveTextAsync($"hpc / {fixture.CatalogDatabase}");
        await Expect(schema.Locator("[data-testid=pgmydb-usage-text]")).ToContainTextAsync("of 10 GiB used");
        var row = schema.Locator("[data-testid=pgmydb-row][data-table=picked]");
        await Expect(row.Locator("[data-testid=pgmydb-rows]")).ToHaveTextAsync("5");

        // Its columns, then drop it (after the confirmation).
        await row.Locator("[data-testid=pgmydb-show-columns]").ClickAsync();
        await Expect(schema.Locator("[data-testid=pgmydb-columns] [data-testid=schema-column]")).ToHaveCountAsync(2);
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await row.Locator("[data-testid=pgmydb-drop]").ClickAsync();
        await Expect(page.Locator("[data-testid=pgmydb-message]")).ToHaveTextAsync($"Dropped picked from {fixture.CatalogDatabase}.");
        await Expect(schema.Locator("[data-testid=pgmydb-row]")).ToHaveCountAsync(0);
        await Expect(schema.Locator("[data-testid=pgmydb-empty]")).ToBeVisibleAsync();
    }
}
