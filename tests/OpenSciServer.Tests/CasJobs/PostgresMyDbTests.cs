using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>
/// A platform whose PostgreSQL server "hpc" is the private cluster, with one catalog context (PgQuota: a small table
/// <c>sky.sources</c>) in a database made for this host, and a MyDB quota of 1 MiB, small enough to pass in a test.
/// </summary>
public sealed class PostgresMyDbPlatform : PlatformFactory
{
    public string CatalogDatabase { get; } = "myq" + Guid.NewGuid().ToString("N")[..12];

    public string AdminConnectionString { get; private set; } = "";

    public override async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        await using (var postgres = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await postgres.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {CatalogDatabase}", postgres);
            await create.ExecuteNonQueryAsync();
        }

        AdminConnectionString = server.ConnectionString(CatalogDatabase);
        await ExecuteAsync("""
            CREATE EXTENSION q3c;
            CREATE SCHEMA sky;
            CREATE TABLE sky.sources AS SELECT i::bigint AS id, mod((i * 3.7)::numeric, 360)::float8 AS ra, 0.0::float8 AS dec FROM generate_series(1, 100) AS i;
            ANALYZE sky.sources;
            """);
        Settings["CasJobs:PostgresServers:hpc:ConnectionString"] = AdminConnectionString;
        Settings["CasJobs:PostgresServers:hpc:CancelGrace"] = "00:00:01";
        Settings["CasJobs:MyDbQuota"] = "1MiB";
        await base.InitializeAsync();

        using var admin = CreateApiClient(await LoginAdminAsync());
        var response = await admin.PostAsJsonAsync("/api/admin/casjobs/contexts",
            new { name = "PgQuota", engine = "postgres", server = "hpc", database = CatalogDatabase, schema = "sky", timeoutSeconds = 20 });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A new user who may query PgQuota.</summary>
    public async Task<(HttpClient Client, string Name)> NewUserAsync(bool mayQuery = true)
    {
        var name = UniqueName("m");
        var client = CreateApiClient(await CreateUserAsync(name));
        if (mayQuery)
        {
            using var admin = CreateApiClient(await LoginAdminAsync());
            var context = await admin.GetFromJsonAsync<JsonElement>("/api/admin/casjobs/contexts/PgQuota");
            var shared = await admin.PutAsJsonAsync($"/api/resources/{context.GetProperty("resourceId").GetString()}/privileges", new { type = "user", name, actions = new[] { "query" } });
            Assert.True(shared.IsSuccessStatusCode, await shared.Content.ReadAsStringAsync());
        }

        return (client, name);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The tables of a user's MyDB schema, as PostgreSQL has them committed.</summary>
    public async Task<List<string>> TablesOfAsync(string user)
    {
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT tablename FROM pg_tables WHERE schemaname = 'mydb_{user}' ORDER BY 1", conn);
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}

/// <summary>
/// The quota of PostgreSQL MyDB schemas: a query that would grow one past it is rolled back with a 413 that says so, whatever
/// the SQL tries (COMMIT inside it, several statements, CREATE TABLE AS, loops in a DO block, cursors and triggers that would run
/// at COMMIT, data outside the schema); a user over quota still reads and drops; the routes that drop and rename run as the user.
/// </summary>
public sealed class PostgresMyDbTests(PostgresMyDbPlatform platform) : IClassFixture<PostgresMyDbPlatform>
{
    /// <summary>About 2.6 MB of rows (100-character strings, too varied to compress), well past the 1 MiB quota.</summary>
    private const string Big = "SELECT g AS id, repeat(md5(g::text), 3) || md5((g * 7)::text) AS pad FROM generate_series(1, 20000) AS g";

    private static async Task<HttpResponseMessage> QueryAsync(HttpClient client, string sql) =>
        await client.PostAsJsonAsync("/api/casjobs/contexts/PgQuota/query", new { query = sql });

    private static async Task<JsonElement> OkAsync(HttpClient client, string sql)
    {
        var response = await QueryAsync(client, sql);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<string> RefusedAsync(HttpClient client, string sql, HttpStatusCode expected)
    {
        var response = await QueryAsync(client, sql);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{sql}: expected {(int)expected}, got {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task QuickQuery_CreateTableAsPastTheQuota_413SayingSoAndNothingKept()
    {
        var (client, name) = await platform.NewUserAsync();

        var message = await RefusedAsync(client, $"CREATE TABLE mydb.big AS {Big}", HttpStatusCode.RequestEntityTooLarge);
        var small = await OkAsync(client, "CREATE TABLE mydb.small AS SELECT 1 AS one");

        Assert.Contains($"Your MyDB in database {platform.CatalogDatabase}", message, StringComparison.Ordinal);
        Assert.Contains("over your quota of 1 MiB", message, StringComparison.Ordinal);
        Assert.Contains("Drop tables", message, StringComparison.Ordinal);
        Assert.Equal(["small"], await platform.TablesOfAsync(name));
    }

    [Theory]
    [InlineData("TSqlSelectInto", "SELECT g AS id, repeat(md5(g::text), 3) || md5((g * 7)::text) AS pad INTO mydb.big FROM generate_series(1, 20000) AS g")]
    [InlineData("ManyStatements", "CREATE TABLE mydb.t (pad text);\nINSERT INTO mydb.t SELECT repeat(md5(g::text), 3) FROM generate_series(1, 7000) AS g;\n" +
        "INSERT INTO mydb.t SELECT repeat(md5(g::text), 3) FROM generate_series(7001, 14000) AS g;\nINSERT INTO mydb.t SELECT repeat(md5(g::text), 3) FROM generate_series(14001, 21000) AS g")]
    [InlineData("LoopInADoBlock", "CREATE TABLE mydb.t (pad text);\nDO $$ BEGIN FOR i IN 1..200 LOOP INSERT INTO {me}.t SELECT repeat(md5((i * 1000 + g)::text), 3) FROM generate_series(1, 100) AS g; END LOOP; END $$")]
    [InlineData("FunctionThatWrites", "CREATE TABLE mydb.t (pad text);\nCREATE FUNCTION mydb.fill() RETURNS bigint LANGUAGE sql AS $f$ INSERT INTO {me}.t SELECT repeat(md5(g::text), 3) FROM generate_series(1, 20000) AS g; SELECT 1::bigint $f$;\nSELECT mydb.fill()")]
    [InlineData("SavepointsAndRollbackTo", "SAVEPOINT a;\nCREATE TABLE mydb.big AS SELECT 1 AS x;\nROLLBACK TO SAVEPOINT a;\nCREATE TABLE mydb.big AS SELECT g AS id, repeat(md5(g::text), 3) AS pad FROM generate_series(1, 20000) AS g")]
    public async Task QuickQuery_EveryWayToGrowPastTheQuota_413AndNoTableLeft(string way, string sql)
    {
        var (client, name) = await platform.NewUserAsync();

        // Inside function bodies (dollar-quoted) the schema is written out: mydb. is renamed only in the query's own text.
        var message = await RefusedAsync(client, sql.Replace("{me}", $"mydb_{name}", StringComparison.Ordinal), HttpStatusCode.RequestEntityTooLarge);

        Assert.True(message.Contains("over your quota", StringComparison.Ordinal), $"{way}: {message}");
        Assert.Empty(await platform.TablesOfAsync(name));
    }

    [Theory]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x; COMMIT; CREATE TABLE mydb.big AS SELECT 2 AS y", "COMMIT")]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x;\n/* a comment */ commit and chain", "commit")]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x; END", "END")]
    [InlineData("ROLLBACK; CREATE TABLE mydb.a AS SELECT 1 AS x", "ROLLBACK")]
    [InlineData("ABORT; CREATE TABLE mydb.a AS SELECT 1 AS x", "ABORT")]
    [InlineData("BEGIN; CREATE TABLE mydb.a AS SELECT 1 AS x; COMMIT", "BEGIN")]
    [InlineData("START TRANSACTION; CREATE TABLE mydb.a AS SELECT 1 AS x", "START")]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x; PREPARE TRANSACTION 'escape'", "PREPARE")]
    [InlineData("CREATE TABLE mydb.a AS SELECT ';' AS x, $q$ ; $q$ AS y; -- ;\nCOMMIT", "COMMIT")]
    public async Task QuickQuery_TransactionControlInTheSql_400BeforeAnythingRuns(string sql, string word)
    {
        var (client, name) = await platform.NewUserAsync();

        var message = await RefusedAsync(client, sql, HttpStatusCode.BadRequest);

        Assert.StartsWith($"'{word}' cannot be used here", message, StringComparison.Ordinal);
        Assert.Empty(await platform.TablesOfAsync(name));
    }

    [Theory]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x;\nDO $$ BEGIN COMMIT; END $$", "invalid transaction termination")]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x;\nCREATE PROCEDURE mydb.c() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;\nCALL mydb.c()", "invalid transaction termination")]
    [InlineData("CREATE TABLE mydb.a AS SELECT 1 AS x;\nDO $$ BEGIN EXECUTE 'COMMIT'; END $$", "EXECUTE of transaction commands is not implemented")]
    [InlineData("SELECT 1 AS x; COMMIT --", "'COMMIT' cannot be used here")]
    [InlineData("SELECT lo_from_bytea(0, '\\x0102')", "permission denied for function lo_from_bytea")]
    [InlineData("SELECT lo_create(0)", "permission denied for function lo_create")]
    public async Task QuickQuery_CommitHiddenInCodeOrDataOutsideTheSchema_RefusedAndNothingKept(string sql, string expected)
    {
        var (client, name) = await platform.NewUserAsync();

        var message = await RefusedAsync(client, sql, HttpStatusCode.BadRequest);

        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Empty(await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task QuickQuery_WithHoldCursorOverAWritingFunction_NeverRunsAfterTheCheck()
    {
        var (client, name) = await platform.NewUserAsync();

        // A holdable cursor runs its query at COMMIT, after the measurement, unless the platform closes it first.
        await OkAsync(client, "CREATE TABLE mydb.t (pad text);\n" +
            $"CREATE FUNCTION mydb.fill() RETURNS bigint LANGUAGE sql AS $f$ INSERT INTO mydb_{name}.t SELECT repeat(md5(g::text), 3) FROM generate_series(1, 20000) AS g; SELECT 1::bigint $f$;\n" +
            "DECLARE later CURSOR WITH HOLD FOR SELECT mydb.fill()");
        var rows = await OkAsync(client, "SELECT count(*) FROM mydb.t");

        Assert.Equal(0, rows.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(["t"], await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task QuickQuery_DeferrableTriggerThatWouldWriteAtCommit_RolledBack()
    {
        var (client, name) = await platform.NewUserAsync();

        var message = await RefusedAsync(client, "CREATE TABLE mydb.t (a int);\nCREATE TABLE mydb.sink (pad text);\n" +
            $"CREATE FUNCTION mydb.later() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN INSERT INTO mydb_{name}.sink SELECT repeat(md5(g::text), 3) FROM generate_series(1, 20000) AS g; RETURN NULL; END $f$;\n" +
            "CREATE CONSTRAINT TRIGGER later AFTER INSERT ON mydb.t DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mydb.later();\n" +
            "INSERT INTO mydb.t VALUES (1)", HttpStatusCode.BadRequest);

        Assert.Contains("deferrable trigger", message, StringComparison.Ordinal);
        Assert.Empty(await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task QuickQuery_HugeCommentWrittenByDynamicSql_CountsAgainstTheQuota()
    {
        var (client, name) = await platform.NewUserAsync();

        var message = await RefusedAsync(client, "CREATE TABLE mydb.c (a int);\n" +
            $"DO $$ BEGIN EXECUTE format('COMMENT ON TABLE mydb_{name}.c IS %L', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100000) AS g)); END $$",
            HttpStatusCode.RequestEntityTooLarge);

        Assert.Contains("over your quota", message, StringComparison.Ordinal);
        Assert.Empty(await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task LongQuery_IntoMyDbPastTheQuota_FailsSayingSoAndLeavesNoTable()
    {
        var (client, name) = await platform.NewUserAsync();

        var submitted = await client.PostAsJsonAsync("/api/casjobs/jobs", new { context = "PgQuota", query = $"SELECT * INTO mydb.big FROM ({Big}) AS b" });
        var job = await WaitForJobAsync(client, (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());

        Assert.True(job.GetProperty("statusName").GetString() == "Failed", job.ToString());
        Assert.Contains("over your quota of 1 MiB", job.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task OverQuota_ReadsAndDropsWork_GrowingIsRefused_DropFreesSpace()
    {
        var (client, name) = await platform.NewUserAsync();
        await OkAsync(client, "CREATE TABLE mydb.big (id int, pad text)");
        // Over the quota by other means (an administrator's load, a quota lowered since).
        await platform.ExecuteAsync($"INSERT INTO mydb_{name}.big {Big}");

        var listing = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/postgres");
        var read = await OkAsync(client, "SELECT count(*) FROM mydb.big");
        var grow = await RefusedAsync(client, "CREATE TABLE mydb.more AS SELECT 1 AS a", HttpStatusCode.RequestEntityTooLarge);
        var deleted = await OkAsync(client, "DELETE FROM mydb.big WHERE id <= 10");
        var drop = await client.DeleteAsync($"/api/casjobs/mydb/postgres/hpc/{platform.CatalogDatabase}/tables/big");
        var after = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/postgres");
        var again = await OkAsync(client, "CREATE TABLE mydb.more AS SELECT 1 AS a");

        var mydb = Assert.Single(listing!);
        Assert.True(mydb.GetProperty("usedBytes").GetInt64() > mydb.GetProperty("quotaBytes").GetInt64(), mydb.ToString());
        Assert.Equal(1024 * 1024, mydb.GetProperty("quotaBytes").GetInt64());
        Assert.Equal(20000, read.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Contains("over your quota", grow, StringComparison.Ordinal);
        Assert.Equal(10, deleted.GetProperty("rowsAffected")[0].GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, drop.StatusCode);
        Assert.True(Assert.Single(after!).GetProperty("usedBytes").GetInt64() < 1024 * 1024);
        Assert.Equal(["more"], await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task Routes_DescribeRenameDrop_AsTheUserWithClearErrors()
    {
        var (client, name) = await platform.NewUserAsync();
        await OkAsync(client, "CREATE TABLE mydb.stars AS SELECT id, ra, dec FROM sources WHERE id <= 10;\nCREATE TABLE mydb.taken AS SELECT 1 AS a");
        var root = $"/api/casjobs/mydb/postgres/hpc/{platform.CatalogDatabase}/tables";

        var listing = await client.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/postgres");
        var detail = await client.GetFromJsonAsync<JsonElement>($"{root}/stars");
        var renamed = await client.PatchAsJsonAsync($"{root}/STARS", new { name = "Bright" });
        var oldName = await client.GetAsync($"{root}/stars");
        var clash = await client.PatchAsJsonAsync($"{root}/bright", new { name = "taken" });
        var badNew = await client.PatchAsJsonAsync($"{root}/bright", new { name = "1 bad; DROP" });
        var badTable = await client.DeleteAsync($"{root}/bad%01name");
        var badServer = await client.DeleteAsync($"/api/casjobs/mydb/postgres/Bad-Server/{platform.CatalogDatabase}/tables/bright");
        var unknownDatabase = await client.DeleteAsync("/api/casjobs/mydb/postgres/hpc/nosuchdb/tables/bright");
        var unknownServer = await client.DeleteAsync($"/api/casjobs/mydb/postgres/nosuch/{platform.CatalogDatabase}/tables/bright");
        var unknownTable = await client.DeleteAsync($"{root}/nosuch");
        var queried = await OkAsync(client, "SELECT count(*) FROM mydb.BRIGHT");
        var dropped = await client.DeleteAsync($"{root}/bright");
        var droppedAgain = await client.DeleteAsync($"{root}/bright");

        var mydb = Assert.Single(listing!);
        Assert.Equal($"mydb_{name}", mydb.GetProperty("schema").GetString());
        Assert.Equal(["stars", "taken"], mydb.GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(10, detail.GetProperty("rows").GetInt64());
        Assert.True(detail.GetProperty("sizeBytes").GetInt64() > 0);
        Assert.Equal(["id BIGINT", "ra DOUBLE", "dec DOUBLE"], detail.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString() + " " + c.GetProperty("type").GetString()));
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal("bright", (await renamed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.NotFound, oldName.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badNew.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badTable.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badServer.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownDatabase.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownServer.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknownTable.StatusCode);
        Assert.Equal(10, queried.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, dropped.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, droppedAgain.StatusCode);
        Assert.Equal(["taken"], await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task Routes_AnotherUsersSchema_UnreachableAndUntouched()
    {
        var (alice, aliceName) = await platform.NewUserAsync();
        var (bob, _) = await platform.NewUserAsync();
        var (carol, _) = await platform.NewUserAsync(mayQuery: false);
        await OkAsync(alice, "CREATE TABLE mydb.secret AS SELECT 'alice only' AS words");
        await OkAsync(bob, "SELECT 1");
        var root = $"/api/casjobs/mydb/postgres/hpc/{platform.CatalogDatabase}/tables";

        var read = await bob.GetAsync($"{root}/secret");
        var drop = await bob.DeleteAsync($"{root}/secret");
        var qualified = await bob.DeleteAsync($"{root}/{Uri.EscapeDataString($"mydb_{aliceName}.secret")}");
        var quoted = await bob.DeleteAsync($"{root}/{Uri.EscapeDataString($"mydb_{aliceName}\".\"secret")}");
        var rename = await bob.PatchAsJsonAsync($"{root}/secret", new { name = "mine" });
        var noContext = await carol.GetAsync($"{root}/secret");
        var listing = await carol.GetFromJsonAsync<JsonElement[]>("/api/casjobs/mydb/postgres");
        var anonymous = await platform.CreateApiClient().DeleteAsync($"{root}/secret");

        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, drop.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, qualified.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, quoted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, rename.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noContext.StatusCode);
        Assert.Empty(listing!);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(["secret"], await platform.TablesOfAsync(aliceName));
    }

    [Fact]
    public async Task QuickQuery_ReadsAndSmallWrites_StillAnsweredAsBefore()
    {
        var (client, name) = await platform.NewUserAsync();

        var several = await OkAsync(client, "CREATE TABLE mydb.s AS SELECT id FROM sources WHERE id <= 5; INSERT INTO mydb.s VALUES (99); SELECT count(*) FROM mydb.s");
        var select = await OkAsync(client, "SELECT TOP 3 id FROM sources ORDER BY id");
        var failed = await RefusedAsync(client, "CREATE TABLE mydb.half AS SELECT 1 AS a;\nSELECT no_such_column FROM sources", HttpStatusCode.BadRequest);

        Assert.Equal(6, several.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal([1L, 2, 3], select.GetProperty("resultSets")[0].GetProperty("rows").EnumerateArray().Select(r => r[0].GetInt64()));
        Assert.Contains("(line 2, column 8)", failed, StringComparison.Ordinal);
        Assert.Equal(["s"], await platform.TablesOfAsync(name));
    }

    [Fact]
    public async Task QuickQuery_SelectOfAFunctionThatWrites_RunsOnceMeasured_AndPastTheQuotaIs413()
    {
        // A query of SELECTs alone runs read-only and unmeasured; one whose function writes is refused there by PostgreSQL
        // and runs again in the measured transaction: the row lands once, and a function that fills MyDB is stopped.
        var (client, name) = await platform.NewUserAsync();
        await OkAsync(client, "CREATE TABLE mydb.t (pad text);\n" +
            $"CREATE FUNCTION mydb.add_one() RETURNS bigint LANGUAGE sql AS $f$ INSERT INTO mydb_{name}.t VALUES ('one'); SELECT count(*) FROM mydb_{name}.t $f$;\n" +
            $"CREATE FUNCTION mydb.fill() RETURNS bigint LANGUAGE sql AS $f$ INSERT INTO mydb_{name}.t SELECT repeat(md5(g::text), 3) FROM generate_series(1, 20000) AS g; SELECT 1::bigint $f$");

        var once = await OkAsync(client, "SELECT mydb.add_one() AS n");
        // PostgreSQL's own syntax (not T-SQL: the cast) takes the same read-only first try.
        var twice = await OkAsync(client, "SELECT mydb.add_one()::bigint AS n");
        var message = await RefusedAsync(client, "SELECT mydb.fill()", HttpStatusCode.RequestEntityTooLarge);
        var messageRaw = await RefusedAsync(client, "SELECT mydb.fill()::bigint", HttpStatusCode.RequestEntityTooLarge);
        var count = await OkAsync(client, "SELECT count(*) FROM mydb.t");

        Assert.Equal(1, once.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(2, twice.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Contains("over your quota", message, StringComparison.Ordinal);
        Assert.Contains("over your quota", messageRaw, StringComparison.Ordinal);
        Assert.Equal(2, count.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task QuickQuery_SelectTryingToLeaveReadOnly_CannotWrite()
    {
        var (client, name) = await platform.NewUserAsync();
        await OkAsync(client, "CREATE TABLE mydb.t (pad text)");

        // Making the transaction read-write after its first query is refused by PostgreSQL itself.
        var error = await RefusedAsync(client, "SELECT set_config('transaction_read_only', 'off', true)", HttpStatusCode.BadRequest);
        var count = await OkAsync(client, "SELECT count(*) FROM mydb.t");

        Assert.Contains("read-write", error, StringComparison.Ordinal);
        Assert.Equal(0, count.GetProperty("resultSets")[0].GetProperty("rows")[0][0].GetInt64());
        Assert.Equal(["t"], await platform.TablesOfAsync(name));
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
