using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>EXPLAIN in front of T-SQL: the statement translated (TOP, [names], INTO, the sky functions) and the EXPLAIN put back.</summary>
public sealed class ExplainTranslationTests
{
    [Theory]
    [InlineData("EXPLAIN SELECT TOP 5 [id] FROM t ORDER BY id", "EXPLAIN SELECT \"id\" FROM t ORDER BY id LIMIT 5")]
    [InlineData("-- the plan\n/* of a query */ explain analyze SELECT TOP 1 x FROM t", "EXPLAIN ANALYZE SELECT x FROM t LIMIT 1")]
    [InlineData("EXPLAIN (FORMAT JSON) SELECT TOP 2 x FROM t", "EXPLAIN (FORMAT JSON) SELECT x FROM t LIMIT 2")]
    [InlineData("EXPLAIN SELECT x FROM t LIMIT 3", "EXPLAIN SELECT x FROM t LIMIT 3")]
    [InlineData("EXPLAIN SELECT TOP 2 * INTO mydb.T FROM t", "EXPLAIN CREATE TABLE \"mydb\".\"T\" AS SELECT * FROM t LIMIT 2")]
    public void Translate_LeadingExplain_TranslatesTheStatementAndKeepsTheExplain(string sql, string expected)
    {
        var statement = Assert.Single(TSqlTranslator.Translate(sql).Statements);

        Assert.Equal(expected, statement.Sql);
        Assert.True(statement.Explain);
        Assert.True(statement.ReturnsRows);
        Assert.Null(statement.IntoTable);
    }

    [Fact]
    public void Translate_PostgresOptionsInParentheses_KeptAndTheLineIsTheStatements()
    {
        var statement = Assert.Single(TSqlTranslator.Translate("EXPLAIN (ANALYZE, COSTS OFF)\nSELECT TOP 3 [ID] FROM [Sources]", SqlDialect.Postgres).Statements);

        Assert.Equal("EXPLAIN (ANALYZE, COSTS OFF) SELECT \"id\" FROM \"sources\" LIMIT 3", statement.Sql);
        Assert.Equal(2, statement.Line);
    }

    [Theory]
    [InlineData("/* EXPLAIN */ SELECT TOP 1 x FROM t")]
    [InlineData("SELECT TOP 1 'EXPLAIN' AS x FROM t")]
    [InlineData("SELECT TOP 1 [explain] FROM t")]
    public void Translate_ExplainOnlyInACommentStringOrName_IsAPlainQuery(string sql)
    {
        var statement = Assert.Single(TSqlTranslator.Translate(sql).Statements);

        Assert.False(statement.Explain);
        Assert.StartsWith("SELECT", statement.Sql, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("EXPLAIN ANALYZE SELECT * INTO mydb.t FROM x", "EXPLAIN ANALYZE runs the statement")]
    [InlineData("EXPLAIN (ANALYZE, COSTS OFF) CREATE TABLE mydb.t AS SELECT 1 LIMIT 1", "EXPLAIN ANALYZE runs the statement")]
    [InlineData("EXPLAIN ANALYZE DELETE FROM mydb.t", "EXPLAIN ANALYZE runs the statement")]
    [InlineData("EXPLAIN", "EXPLAIN needs the statement to explain")]
    [InlineData("EXPLAIN ANALYZE ;", "EXPLAIN needs the statement to explain")]
    public void Translate_ExplainThatWouldWriteOrHasNoStatement_Refused(string sql, string expected)
    {
        var error = Assert.Throws<PlatformException>(() => TSqlTranslator.Translate(sql));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_ExplainWithoutAnalyzeOfAWrite_IsExplainedNotRun()
    {
        var statement = Assert.Single(TSqlTranslator.Translate("EXPLAIN (ANALYZE false) DELETE FROM mydb.t").Statements);

        Assert.Equal("EXPLAIN (ANALYZE false) DELETE FROM mydb.t", statement.Sql);
        Assert.True(statement.ReturnsRows);
    }
}

/// <summary>EXPLAIN through the API on the DuckDB engine: the plan as a result set, with the sky index visible, and nothing created.</summary>
public sealed class ExplainDuckDbTests(SqlitePlatform platform) : IClassFixture<SqlitePlatform>
{
    [Fact]
    public async Task Explain_TSqlTop_PlanAsRowsOfKeyAndValue()
    {
        using var client = await ClientAsync();

        var set = await QueryAsync(client, "EXPLAIN SELECT TOP 5 [id], ra FROM erass_synthetic ORDER BY id");

        Assert.Equal(["explain_key", "explain_value"], set.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var row = Assert.Single(set.GetProperty("rows").EnumerateArray());
        Assert.Equal("physical_plan", row[0].GetString());
        Assert.Contains("TOP_N", row[1].GetString(), StringComparison.Ordinal);
        Assert.Contains("erass_synthetic", row[1].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_ConeAndFGetNearbyObjEq_ShowTheHealpixRanges()
    {
        using var client = await ClientAsync();

        var cone = await QueryAsync(client, "EXPLAIN SELECT id FROM erass_synthetic WHERE cone(ra, dec, 150, 20, 1)");
        var nearby = await QueryAsync(client, "EXPLAIN SELECT TOP 5 objID FROM dbo.fGetNearbyObjEq(150, 20, 60)");
        var analyzed = await QueryAsync(client, "EXPLAIN ANALYZE SELECT count(*) FROM erass_synthetic WHERE cone(ra, dec, 150, 20, 1)");

        Assert.Contains("healpix", Plan(cone), StringComparison.Ordinal);
        Assert.Contains("healpix", Plan(nearby), StringComparison.Ordinal);
        Assert.Equal("analyzed_plan", analyzed.GetProperty("rows")[0][0].GetString());
        Assert.Contains("healpix", Plan(analyzed), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_SelectIntoMyDb_ShowsThePlanAndCreatesNothing()
    {
        using var client = await ClientAsync();

        var plan = await QueryAsync(client, "EXPLAIN SELECT TOP 3 id INTO mydb.explained FROM erass_synthetic");
        var create = await QueryAsync(client, "EXPLAIN CREATE TABLE mydb.created AS SELECT id FROM erass_synthetic LIMIT 3");
        var analyze = await client.PostAsJsonAsync("/api/casjobs/contexts/Demo/query", new { query = "EXPLAIN ANALYZE SELECT id INTO mydb.analyzed FROM erass_synthetic" });
        var tables = await QueryAsync(client, "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'mydb'", "MyDB");

        Assert.Contains("CREATE_TABLE_AS", Plan(plan), StringComparison.Ordinal);
        Assert.Contains("CREATE_TABLE_AS", Plan(create), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, analyze.StatusCode);
        Assert.Contains("EXPLAIN ANALYZE runs the statement", await analyze.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, tables.GetProperty("rows")[0][0].GetInt64());
    }

    [Fact]
    public async Task Explain_SciServerRouteWithoutLogin_PlanInTheResultTable()
    {
        using var anonymous = platform.CreateClient();

        var response = await anonymous.PostAsJsonAsync("/CasJobs/RestApi/contexts/Demo/query", new { Query = "EXPLAIN SELECT TOP 2 id FROM erass_synthetic" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var result = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("Result")[0];
        Assert.Equal(["explain_key", "explain_value"], result.GetProperty("Columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("erass_synthetic", result.GetProperty("Data")[0][1].GetString(), StringComparison.Ordinal);
    }

    private static string Plan(JsonElement set) => string.Join('\n', set.GetProperty("rows").EnumerateArray().Select(r => r[1].GetString()));

    private async Task<HttpClient> ClientAsync() => platform.CreateApiClient(await platform.CreateUserAsync(PlatformFactory.UniqueName("x")));

    private static async Task<JsonElement> QueryAsync(HttpClient client, string sql, string context = "Demo")
    {
        var response = await client.PostAsJsonAsync($"/api/casjobs/contexts/{context}/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("resultSets")[0].Clone();
    }
}

/// <summary>EXPLAIN through the API on the PostgreSQL engine: QUERY PLAN lines, q3c's index under the sky functions, nothing created.</summary>
public sealed class ExplainPostgresTests(PostgresCatalogPlatform platform) : IClassFixture<PostgresCatalogPlatform>
{
    [Fact]
    public async Task Explain_TSqlTopAndOptions_QueryPlanLines()
    {
        var (client, _) = await platform.SharedUserAsync();

        var plain = await QueryAsync(client, "EXPLAIN SELECT TOP 5 [ID], ra FROM [Sources] ORDER BY id");
        var analyzed = await QueryAsync(client, "EXPLAIN (ANALYZE, COSTS OFF) SELECT TOP 3 id FROM sources");

        Assert.Equal(["QUERY PLAN"], plain.GetProperty("columns").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.StartsWith("Limit", Lines(plain)[0], StringComparison.Ordinal);
        Assert.Contains(Lines(plain), l => l.Contains("cost=", StringComparison.Ordinal));
        Assert.Contains(Lines(analyzed), l => l.Contains("actual", StringComparison.Ordinal));
        Assert.DoesNotContain(Lines(analyzed), l => l.Contains("cost=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Explain_ConeAndFGetNearbyObjEq_ReachTheQ3cIndex()
    {
        var (client, _) = await platform.SharedUserAsync();

        var cone = await QueryAsync(client, "EXPLAIN SELECT id FROM sources WHERE cone(ra, dec, 10.0, 10.0, 0.5)");
        var nearby = await QueryAsync(client, "EXPLAIN SELECT TOP 5 objID FROM dbo.fGetNearbyObjEq(10.0, 10.0, 30) ORDER BY distance");

        Assert.Contains(Lines(cone), l => l.Contains("sources_q3c", StringComparison.Ordinal));
        Assert.Contains(Lines(nearby), l => l.Contains("sources_q3c", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Explain_SelectIntoMyDb_ShowsThePlanAndCreatesNothing()
    {
        var (client, name) = await platform.NewUserAsync();

        var plan = await QueryAsync(client, "EXPLAIN SELECT TOP 3 id INTO mydb.explained FROM sources");
        var analyze = await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query", new { query = "EXPLAIN (ANALYZE) SELECT id INTO mydb.analyzed FROM sources" });

        Assert.Contains(Lines(plan), l => l.Contains("Limit", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, analyze.StatusCode);
        Assert.Equal(0L, await platform.ScalarAsync<long>($"SELECT count(*) FROM pg_tables WHERE schemaname = 'mydb_{name}'"));
    }

    private static List<string> Lines(JsonElement set) => set.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()!).ToList();

    private static async Task<JsonElement> QueryAsync(HttpClient client, string sql)
    {
        var response = await client.PostAsJsonAsync("/api/casjobs/contexts/PgSky/query", new { query = sql });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{sql}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("resultSets")[0].Clone();
    }
}
