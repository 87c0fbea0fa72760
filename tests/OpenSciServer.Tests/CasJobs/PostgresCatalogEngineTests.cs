using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// A platform whose PostgreSQL server "hpc" is the test run's private cluster, with a catalog database made for
/// this host: q3c created, schema <c>sky</c> with a deterministic catalog of <see cref="Rows"/> sources (a Fibonacci lattice: uniform over the sky, poles and ra = 0 included) (q3c index,
/// clustered on it), and a schema <c>hidden</c> registered as a context shared with nobody. Contexts are
/// registered through the admin API, as an admin would.
/// </summary>
public sealed class PostgresCatalogPlatform : PlatformFactory
{
    public const int Rows = 3000;

    public const int TimeoutSeconds = 2;

    public string CatalogDatabase { get; } = "cat" + Guid.NewGuid().ToString("N")[..12];

    public string AdminConnectionString { get; private set; } = "";

    public override async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        await using (var postgres = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await postgres.OpenAsync();
            await Execute(postgres, $"CREATE DATABASE {CatalogDatabase}");
        }

        AdminConnectionString = server.ConnectionString(CatalogDatabase);
        await using (var catalog = new NpgsqlConnection(AdminConnectionString))
        {
            await catalog.OpenAsync();
            await Execute(catalog, $"""
                CREATE EXTENSION q3c;
                CREATE SCHEMA sky;
                CREATE TABLE sky.sources AS
                  SELECT i::bigint AS id,
                         mod(i * 137.50776405003785, 360.0)::double precision AS ra,
                         degrees(asin(2.0 * (i - 0.5) / {Rows} - 1.0))::double precision AS dec,
                         (14 + mod(i * 7, 100) / 10.0)::real AS mag,
                         (ARRAY['star', 'agn', 'galaxy'])[1 + mod(i, 3)] AS class
                  FROM generate_series(1, {Rows}) AS i;
                CREATE INDEX sources_q3c ON sky.sources (q3c_ang2ipix(ra, dec));
                CLUSTER sky.sources USING sources_q3c;
                ANALYZE sky.sources;
                CREATE SCHEMA hidden;
                CREATE TABLE hidden.secrets AS SELECT 42 AS answer;
                ANALYZE hidden.secrets;
                CREATE SCHEMA open;
                CREATE TABLE open.stars AS SELECT id, ra, dec FROM sky.sources WHERE class = 'star';
                ANALYZE open.stars;
                """);
        }

        Settings["CasJobs:PostgresServers:hpc:ConnectionString"] = AdminConnectionString;
        Settings["CasJobs:PostgresServers:hpc:CancelGrace"] = "00:00:01";
        Settings["CasJobs:QuickQueryMaxRows"] = "1000";
        await base.InitializeAsync();

        using var admin = CreateApiClient(await LoginAdminAsync());
        foreach (var (name, schema, isPublic) in new[] { ("PgSky", "sky", false), ("PgHidden", "hidden", false), ("PgPublic", "open", true) })
        {
            var response = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts",
                new { name, engine = "postgres", server = "hpc", database = CatalogDatabase, schema, isPublic, timeoutSeconds = TimeoutSeconds, description = "PostgreSQL catalog" });
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"register {name}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A new user who may query PgSky (not PgHidden).</summary>
    public async Task<(HttpClient Client, string Name)> NewUserAsync()
    {
        var name = UniqueName("p");
        var client = CreateApiClient(await CreateUserAsync(name));
        using var admin = CreateApiClient(await LoginAdminAsync());
        var context = await admin.GetFromJsonAsync<JsonElement>("/api/admin/casjobs/contexts/PgSky");
        var shared = await admin.PutAsJsonAsync($"/api/resources/{context.GetProperty("resourceId").GetString()}/privileges", new { type = "user", name, actions = new[] { "query" } });
        Assert.True(shared.IsSuccessStatusCode, await shared.Content.ReadAsStringAsync());
        return (client, name);
    }

    private Task<(HttpClient Client, string Name)>? _shared;

    /// <summary>One user for the tests that only read or are refused (creating users costs password hashing).</summary>
    public Task<(HttpClient Client, string Name)> SharedUserAsync() => _shared ??= NewUserAsync();

    public async Task ExecuteAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await Execute(conn, sql);
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task Execute(NpgsqlConnection conn, string sql)
    {
        await using var command = new NpgsqlCommand(sql, conn);
        await command.ExecuteNonQueryAsync();
    }
}

public sealed class PostgresCatalogEngineTests(PostgresCatalogPlatform platform) : IClassFixture<PostgresCatalogPlatform>
{
    private static async Task<JsonElement> QueryAsync(HttpClient client, string sql, string context = "PgSky")
    {
        var response = await client.PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<string> RefusedAsync(HttpClient client, string sql, string context = "PgSky")
    {
        var response = await client.PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{sql}: expected 400, got {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task QuickQuery_TSqlTopAndBrackets_ReturnsTheRowsWithTheirTypes()
    {
        var (client, _) = await platform.NewUserAsync();

        var result = await QueryAsync(client, "SELECT TOP 5 [ID], ra, dec, mag, [class] FROM [Sources] ORDER BY id");

        var set = result.GetProperty("resultSets")[0];
        Assert.Equal(["id", "ra", "dec", "mag", "class"], set.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(["BigInt", "Double", "Double", "Float", "Varchar"], set.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("type").GetString()));
        Assert.Equal([1L, 2, 3, 4, 5], set.GetProperty("rows").EnumerateArray().Select(r => r[0].GetInt64()));
        Assert.Equal(137.50776405003785, set.GetProperty("rows")[0][1].GetDouble(), 9);
        Assert.Equal("agn", set.GetProperty("rows")[0][4].GetString());
        Assert.False(set.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task QuickQueries_ANewUsersFirstQueriesAtOnce_AllAnswered()
    {
        var (client, name) = await platform.NewUserAsync();

        var answers = await Task.WhenAll(Enumerable.Range(1, 4).Select(i => QueryAsync(client, $"SELECT count(*) FROM sources WHERE mod(id, {i}) = 0")));
        var schemas = await platform.ScalarAsync<long>($"SELECT count(*) FROM pg_namespace WHERE nspname = 'mydb_{name}'");

        Assert.Equal([3000L, 1500, 1000, 750], answers.Select(a => a.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64()));
        Assert.Equal(1, schemas);
    }

    [Fact]
    public async Task QuickQuery_MoreRowsThanTheCap_CutAtTheCapAndSaysSo()
    {
        var (client, _) = await platform.NewUserAsync();

        var set = (await QueryAsync(client, "SELECT id FROM sources ORDER BY id")).GetProperty("resultSets")[0];

        Assert.Equal(1000, set.GetProperty("rows").GetArrayLength());
        Assert.True(set.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task SciServerRoute_JsonArrayCsvAndFits_SameAnswersAsForDuckDb()
    {
        var (client, _) = await platform.NewUserAsync();
        const string Sql = "SELECT TOP 3 id, class FROM sources WHERE class = 'star' ORDER BY id";

        using var json = new HttpRequestMessage(HttpMethod.Post, "/CasJobs/RestApi/contexts/PgSky/query") { Content = JsonContent.Create(new { Query = Sql }) };
        json.Headers.Accept.ParseAdd("application/json+array");
        var array = JsonDocument.Parse(await (await client.SendAsync(json)).Content.ReadAsStringAsync()).RootElement;
        var csv = await (await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query?format=csv", new { query = Sql })).Content.ReadAsStringAsync();
        var fits = await (await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query?format=fits", new { query = Sql })).Content.ReadAsByteArrayAsync();
        var votable = await (await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query?format=votable", new { query = Sql })).Content.ReadAsStringAsync();
        var parquet = await (await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query?format=parquet", new { query = Sql })).Content.ReadAsByteArrayAsync();

        Assert.Equal(["id", "class"], array.GetProperty("Result")[0].GetProperty("Columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal([3L, 6, 9], array.GetProperty("Result")[0].GetProperty("Data").EnumerateArray().Select(r => r[0].GetInt64()));
        Assert.Equal("id,class\n3,star\n6,star\n9,star\n", csv);
        Assert.StartsWith("SIMPLE  =", System.Text.Encoding.ASCII.GetString(fits, 0, 9), StringComparison.Ordinal);
        Assert.Contains("BINTABLE", System.Text.Encoding.ASCII.GetString(fits), StringComparison.Ordinal);
        Assert.Contains("TFORM1  = 'K", System.Text.Encoding.ASCII.GetString(fits), StringComparison.Ordinal);
        Assert.Contains("<FIELD name=\"id\" datatype=\"long\"", votable, StringComparison.Ordinal);
        Assert.Contains("<TD>star</TD>", votable, StringComparison.Ordinal);
        Assert.Equal("PAR1", System.Text.Encoding.ASCII.GetString(parquet, 0, 4));
    }

    [Fact]
    public async Task TablesAndColumns_NativeAndSciServerRoutes_DescribeTheCatalog()
    {
        var (client, _) = await platform.NewUserAsync();

        var tables = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/PgSky/tables");
        var sciserver = await client.GetFromJsonAsync<JsonElement[]>("/CasJobs/RestApi/contexts/PgSky/Tables");
        var columns = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/contexts/PgSky/tables/sources/columns");

        var sources = Assert.Single(tables!);
        Assert.Equal("sources", sources.GetProperty("name").GetString());
        Assert.Equal(PostgresCatalogPlatform.Rows, sources.GetProperty("rows").GetInt64());
        Assert.Equal(5, sources.GetProperty("columns").GetInt64());
        Assert.True(sources.GetProperty("sizeBytes").GetInt64() > 0);
        Assert.Equal("sources", Assert.Single(sciserver!).GetProperty("Name").GetString());
        Assert.Equal(["id BIGINT", "ra DOUBLE", "dec DOUBLE", "mag FLOAT", "class VARCHAR"],
            columns!.Select(c => c.GetProperty("name").GetString() + " " + c.GetProperty("type").GetString()));
    }

    [Theory]
    [InlineData("nosuch", "sky", "There is no PostgreSQL server 'nosuch'")]
    [InlineData("hpc", "no_schema", "There is no schema 'no_schema'")]
    [InlineData("hpc", "public", "cannot be a catalog")]
    [InlineData("hpc", "Bad-Name", "plain name")]
    public async Task Register_BadServerOrSchema_400SayingWhy(string server, string schema, string expected)
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());

        var response = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts", new { name = "PgBad", engine = "postgres", server, database = platform.CatalogDatabase, schema });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminList_PostgresContext_ShowsItsLocationAndTables()
    {
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());

        var context = await admin.GetFromJsonAsync<JsonElement>("/api/admin/casjobs/contexts/PgSky");

        Assert.Equal($"postgres://hpc/{platform.CatalogDatabase}/sky", context.GetProperty("path").GetString());
        Assert.False(context.GetProperty("builtByPlatform").GetBoolean());
        Assert.Equal(PostgresCatalogPlatform.TimeoutSeconds, context.GetProperty("timeoutSeconds").GetInt32());
        Assert.Equal("sources", Assert.Single(context.GetProperty("tables").EnumerateArray()).GetProperty("name").GetString());
        Assert.False(context.TryGetProperty("problem", out var problem) && problem.ValueKind == JsonValueKind.String, problem.ToString());
    }

    [Fact]
    public async Task QuickQuery_UnknownColumn_400WithTheLineAndColumnOfTheUsersText()
    {
        var (client, _) = await platform.NewUserAsync();

        var message = await RefusedAsync(client, "SELECT id,\n       no_such_column\nFROM sources");

        Assert.Contains("column \"no_such_column\" does not exist", message, StringComparison.Ordinal);
        Assert.Contains("(line 2, column 8)", message, StringComparison.Ordinal);
        Assert.Contains("LINE 2:        no_such_column", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LongQuery_SelectIntoMyDb_CreatesTheTableInTheUsersSchemaAndTheMyDbListingShowsIt()
    {
        var (client, name) = await platform.NewUserAsync();
        var expected = await platform.ScalarAsync<long>("SELECT count(*) FROM sky.sources WHERE mag < 18");

        var submitted = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context = "PgSky", query = "SELECT id, ra, dec INTO mydb.Bright FROM sources WHERE mag < 18" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var done = await WaitForJobAsync(client, id);
        var count = await QueryAsync(client, "SELECT count(*) FROM mydb.bright");
        var listing = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/postgres");
        var comment = await platform.ScalarAsync<string>($"SELECT obj_description('mydb_{name}.bright'::regclass, 'pg_class')");

        Assert.True(done.GetProperty("status").GetInt32() == 5, done.ToString());
        Assert.Equal("bright", done.GetProperty("createdTable").GetString());
        Assert.Equal(expected, done.GetProperty("rows").GetInt64());
        Assert.Equal(expected, count.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        var mydb = Assert.Single(listing!);
        Assert.Equal("hpc", mydb.GetProperty("server").GetString());
        Assert.Equal($"mydb_{name}", mydb.GetProperty("schema").GetString());
        Assert.Contains("PgSky", mydb.GetProperty("contexts").EnumerateArray().Select(c => c.GetString()));
        var table = Assert.Single(mydb.GetProperty("tables").EnumerateArray());
        Assert.Equal("bright", table.GetProperty("name").GetString());
        Assert.Equal(expected, table.GetProperty("rows").GetInt64());
        Assert.Equal($"Created by long query job {id}", comment);
    }

    [Fact]
    public async Task LongQuery_FailingSecondStatement_LeavesNoTable()
    {
        var (client, name) = await platform.NewUserAsync();

        var submitted = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context = "PgSky", query = "SELECT id INTO mydb.half FROM sources;\nSELECT no_such_column FROM sources" });
        var done = await WaitForJobAsync(client, (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        var left = await platform.ScalarAsync<long>($"SELECT count(*) FROM pg_tables WHERE schemaname = 'mydb_{name}'");

        Assert.Equal(4, done.GetProperty("status").GetInt32());
        Assert.Contains("no_such_column", done.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("line 2", done.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, left);
    }

    [Theory]
    [InlineData("SELECT * FROM hidden.secrets", "permission denied for schema hidden")]
    [InlineData("CREATE TABLE public.mine (a int)", "permission denied for schema public")]
    [InlineData("CREATE TABLE sky.mine (a int)", "permission denied for schema sky")]
    [InlineData("CREATE TABLE mine (a int)", "permission denied for schema sky")]
    [InlineData("CREATE SCHEMA mine", "permission denied for database")]
    [InlineData("CREATE TEMP TABLE mine (a int)", "permission denied to create temporary tables")]
    [InlineData("SELECT pg_read_file('/etc/passwd')", "permission denied for function pg_read_file")]
    [InlineData("SELECT lo_import('/etc/passwd')", "permission denied for function lo_import")]
    [InlineData("CREATE TABLE IF NOT EXISTS mydb.lines (line text); COPY mydb.lines FROM '/etc/passwd'", "pg_read_server_files")]
    [InlineData("COPY (SELECT 1) TO '/tmp/oss-escape.txt'", "pg_write_server_files")]
    [InlineData("COPY (SELECT 1) TO PROGRAM 'id'", "pg_execute_server_program")]
    [InlineData("SET ROLE postgres", "permission denied to set role \"postgres\"")]
    [InlineData("SELECT set_config('role', 'postgres', false)", "permission denied to set role \"postgres\"")]
    [InlineData("SET SESSION AUTHORIZATION postgres", "permission denied to set session authorization")]
    [InlineData("CREATE EXTENSION dblink", "permission denied")]
    [InlineData("ALTER ROLE CURRENT_USER SUPERUSER", "must be superuser")]
    public async Task UsersSql_OutsideItsOwnSchemaAndGrants_IsRefusedByPostgres(string sql, string expected)
    {
        var (client, _) = await platform.SharedUserAsync();

        var message = await RefusedAsync(client, sql);

        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsersSql_AnotherUsersMyDbAndRole_CannotBeReadOrTaken()
    {
        var (alice, aliceName) = await platform.NewUserAsync();
        var (bob, _) = await platform.NewUserAsync();
        await QueryAsync(alice, "CREATE TABLE mydb.secret AS SELECT 'alice only' AS words");
        var aliceRole = await platform.ScalarAsync<string>($"SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = 'mydb_{aliceName}'");

        var read = await RefusedAsync(bob, $"SELECT * FROM mydb_{aliceName}.secret");
        var write = await RefusedAsync(bob, $"CREATE TABLE mydb_{aliceName}.planted (a int)");
        var role = await RefusedAsync(bob, $"SET ROLE {aliceRole}");
        var own = await QueryAsync(alice, "SELECT words FROM mydb.secret");

        Assert.Contains($"permission denied for schema mydb_{aliceName}", read, StringComparison.Ordinal);
        Assert.Contains($"permission denied for schema mydb_{aliceName}", write, StringComparison.Ordinal);
        Assert.Contains("permission denied to set role", role, StringComparison.Ordinal);
        Assert.Equal("alice only", own.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetString());
    }

    [Fact]
    public async Task Access_WithdrawnInTheAuthorizationService_IsRevokedInPostgres()
    {
        var (client, name) = await platform.NewUserAsync();
        await QueryAsync(client, "SELECT count(*) FROM sources");
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var context = await admin.GetFromJsonAsync<JsonElement>("/api/admin/casjobs/contexts/PgSky");
        await admin.PutAsJsonAsync($"/api/resources/{context.GetProperty("resourceId").GetString()}/privileges", new { type = "user", name, actions = Array.Empty<string>() });

        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query", new { query = "SELECT count(*) FROM sources" });
        var sideways = await RefusedAsync(client, "SELECT count(*) FROM sky.sources", "PgPublic");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("permission denied for schema sky", sideways, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anonymous_PublicContext_ReadsItButNothingElseAndHasNoMyDb()
    {
        using var anonymous = platform.CreateApiClient();

        var stars = await QueryAsync(anonymous, "SELECT count(*) FROM stars", "PgPublic");
        var other = await RefusedAsync(anonymous, "SELECT count(*) FROM sky.sources", "PgPublic");
        var into = await RefusedAsync(anonymous, "SELECT TOP 1 id INTO mydb.mine FROM stars", "PgPublic");
        var sky = await anonymous.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query", new { query = "SELECT 1" });

        Assert.Equal(PostgresCatalogPlatform.Rows / 3, stars.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Contains("permission denied for schema sky", other, StringComparison.Ordinal);
        Assert.Contains("log in", into, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Unauthorized, sky.StatusCode);
    }

    [Fact]
    public async Task LongQuery_CanceledWhileRunning_BecomesCanceledAndItsBackendStops()
    {
        var (client, _) = await platform.NewUserAsync();
        var submitted = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context = "PgSky", query = "SELECT 1 AS nap INTO mydb.napped FROM pg_sleep(60)" });
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        await WaitUntilAsync(() => platform.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' AND usename LIKE 'oss_u_%'"), n => n == 1);

        await client.PostAsync($"/api/casjobs/jobs/{id}/cancel", null);
        var done = await WaitForJobAsync(client, id);
        var still = await WaitUntilAsync(() => platform.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND state = 'active' AND usename LIKE 'oss_u_%'"), n => n == 0);

        Assert.True(done.GetProperty("statusName").GetString() == "Canceled", done.ToString());
        Assert.Equal(0, still);
    }

    [Fact]
    public async Task Access_ContextUnregistered_ItsSchemaIsRevokedAtTheNextQuery()
    {
        await platform.ExecuteAsync("CREATE SCHEMA gone; CREATE TABLE gone.t AS SELECT 1 AS x");
        using var admin = platform.CreateApiClient(await platform.LoginAdminAsync());
        var registered = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts",
            new { name = "PgGone", engine = "postgres", server = "hpc", database = platform.CatalogDatabase, schema = "gone", isPublic = true });
        var (client, _) = await platform.NewUserAsync();
        var before = await QueryAsync(client, "SELECT x FROM gone.t", "PgSky");

        var unregistered = await admin.DeleteAsync("/api/admin/casjobs/contexts/PgGone");
        var after = await RefusedAsync(client, "SELECT x FROM gone.t", "PgSky");

        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        Assert.Equal(1, before.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, unregistered.StatusCode);
        Assert.Contains("permission denied for schema gone", after, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT pg_sleep(30)")]
    [InlineData("SET statement_timeout = 0; SELECT pg_sleep(30)")]
    [InlineData("DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(30); EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END $$")]
    public async Task QuickQuery_PastTheContextsLimit_IsStoppedEvenIfItFightsTheCancel(string sql)
    {
        var (client, _) = await platform.NewUserAsync();
        var clock = Stopwatch.StartNew();

        var message = await RefusedAsync(client, sql);
        var elapsed = clock.Elapsed;
        var still = await WaitUntilAsync(() => platform.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'oss_u_%' AND query LIKE '%pg_sleep(30)%' AND state = 'active'"), n => n == 0);

        Assert.Contains($"limit of {PostgresCatalogPlatform.TimeoutSeconds} s", message, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
        Assert.Equal(0, still);
    }

    /// <summary>The exact great-circle distance in degrees (haversine), written out: the reference the sky functions are held to.</summary>
    private static string Haversine(string ra1, string dec1, string ra2, string dec2) =>
        $"2 * degrees(asin(sqrt(power(sin(radians({dec2} - {dec1}) / 2), 2) + cos(radians({dec1})) * cos(radians({dec2})) * power(sin(radians({ra2} - {ra1}) / 2), 2))))";

    private static IEnumerable<string> Column(JsonElement result, int set = 0) =>
        result.GetProperty("resultSets")[set].GetProperty("rows").EnumerateArray().Select(r => string.Join("/", r.EnumerateArray().Select(v => v.GetRawText())));

    [Theory]
    [InlineData(0.0, 0.0, 15.0)]
    [InlineData(180.0, 89.0, 10.0)]
    [InlineData(359.9, -89.9, 6.0)]
    [InlineData(45.5, -30.0, 20.0)]
    [InlineData(359.0, 10.0, 8.0)]
    public async Task Cone_SameRowsAsABruteForceDistanceFilter(double ra0, double dec0, double radius)
    {
        var (client, _) = await platform.SharedUserAsync();
        var centre = FormattableString.Invariant($"{ra0}, {dec0}");
        var r = radius.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var cone = Column(await QueryAsync(client, $"SELECT id FROM sources WHERE cone(ra, dec, {centre}, {r}) ORDER BY id")).ToList();
        var reference = Column(await QueryAsync(client, $"SELECT id FROM sources WHERE {Haversine("ra", "dec", ra0.ToString(System.Globalization.CultureInfo.InvariantCulture), dec0.ToString(System.Globalization.CultureInfo.InvariantCulture))} <= {r} ORDER BY id")).ToList();

        Assert.NotEmpty(reference);
        Assert.Equal(reference, cone);
    }

    [Fact]
    public async Task XmatchAndAngdist_SamePairsAndDistancesAsBruteForce()
    {
        var (client, _) = await platform.NewUserAsync();
        await QueryAsync(client, "CREATE TABLE mydb.targets AS SELECT id, mod((ra + 0.0003)::numeric, 360)::float8 AS ra, dec - 0.0002 AS dec FROM sky.sources WHERE mod(id, 7) = 0");

        var matched = Column(await QueryAsync(client,
            "SELECT t.id, s.id, round(angdist_arcsec(t.ra, t.dec, s.ra, s.dec)::numeric, 6) FROM mydb.targets t JOIN sources s ON xmatch(t.ra, t.dec, s.ra, s.dec, 2.0) ORDER BY 1, 2")).ToList();
        var reference = Column(await QueryAsync(client,
            $"SELECT t.id, s.id, round((3600 * {Haversine("t.ra", "t.dec", "s.ra", "s.dec")})::numeric, 6) FROM mydb.targets t CROSS JOIN sky.sources s WHERE {Haversine("t.ra", "t.dec", "s.ra", "s.dec")} <= 2.0 / 3600 ORDER BY 1, 2")).ToList();
        var degrees = await QueryAsync(client, $"SELECT angdist(10, 20, 11, 21) - {Haversine("10", "20", "11", "21")}");

        Assert.Equal(PostgresCatalogPlatform.Rows / 7, reference.Count);
        Assert.Equal(reference, matched);
        Assert.True(Math.Abs(degrees.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetDouble()) < 1e-9);
    }

    [Fact]
    public async Task FGetNearbyObjEq_SkyServerStyle_SameRowsAndDistancesAsBruteForce()
    {
        var (client, _) = await platform.SharedUserAsync();

        var nearby = Column(await QueryAsync(client,
            "SELECT TOP 50 objID, class, round(distance::numeric, 6) FROM dbo.fGetNearbyObjEq(200.5, -40.25, 400) ORDER BY distance, objID")).ToList();
        var reference = Column(await QueryAsync(client,
            $"SELECT id, class, round((60 * {Haversine("ra", "dec", "200.5", "-40.25")})::numeric, 6) AS d FROM sources WHERE 60 * {Haversine("ra", "dec", "200.5", "-40.25")} <= 400 ORDER BY d, id LIMIT 50")).ToList();
        var plan = await QueryAsync(client, "SET enable_seqscan = off; EXPLAIN SELECT * FROM fGetNearbyObjEq(200.5, -40.25, 1)");

        Assert.NotEmpty(reference);
        Assert.Equal(reference, nearby);
        Assert.Contains(Column(plan, 0), line => line.Contains("sources_q3c", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cone_OnACatalogTable_ReachesTheQ3cIndex()
    {
        var (client, _) = await platform.NewUserAsync();

        // With sequential scans priced out, only a condition the index can serve gives an index plan.
        var plan = await QueryAsync(client, "SET enable_seqscan = off; EXPLAIN SELECT id FROM sources WHERE cone(ra, dec, 10.0, 10.0, 0.5)");
        var xmatch = await QueryAsync(client, "SET enable_seqscan = off; EXPLAIN SELECT s.id FROM (VALUES (10.0::float8, 10.0::float8)) AS t(ra, dec) JOIN sources s ON xmatch(t.ra, t.dec, s.ra, s.dec, 1.0)");

        Assert.Contains(Column(plan, 0), line => line.Contains("sources_q3c", StringComparison.Ordinal));
        Assert.Contains(Column(xmatch, 0), line => line.Contains("sources_q3c", StringComparison.Ordinal));
    }

    private static async Task<long> WaitUntilAsync(Func<Task<long>> read, Func<long, bool> done)
    {
        var clock = Stopwatch.StartNew();
        var value = await read();
        while (!done(value) && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
            value = await read();
        }

        return value;
    }

    private static async Task<JsonElement> WaitForJobAsync(HttpClient client, long id)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = await client.GetFromJsonAsync<JsonElement>($"/api/casjobs/jobs/{id}");
            if (job.GetProperty("status").GetInt32() >= 3)
            {
                return job;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"job {id} did not end: {job}");
            await Task.Delay(100);
        }
    }
}
