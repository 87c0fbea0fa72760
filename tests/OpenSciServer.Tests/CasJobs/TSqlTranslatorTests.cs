using DuckDB.NET.Data;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>SciServer users' T-SQL, read by Microsoft's parser and run on DuckDB.</summary>
public sealed class TSqlTranslatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oss-test-tsql-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("SELECT TOP 10 * FROM ctx.sources ORDER BY id DESC", "SELECT * FROM ctx.sources ORDER BY id DESC LIMIT 10")]
    [InlineData("SELECT TOP (3) id FROM ctx.sources", "SELECT id FROM ctx.sources LIMIT 3")]
    [InlineData("SELECT [id], [ra] FROM ctx.[sources]", "SELECT \"id\", \"ra\" FROM ctx.\"sources\"")]
    [InlineData("SELECT * FROM (SELECT TOP 3 id FROM ctx.sources ORDER BY id) t", "SELECT * FROM (SELECT id FROM ctx.sources ORDER BY id LIMIT 3) t")]
    [InlineData("SELECT '[not] TOP 1' AS s", "SELECT '[not] TOP 1' AS s")]
    [InlineData("DROP TABLE bright", "DROP TABLE bright")]
    [InlineData("SELECT [odd]]name] FROM t", "SELECT \"odd]name\" FROM t")]
    public void Translate_RewritesOnlyWhatDuckDbReadsDifferently(string tsql, string expected)
    {
        var translation = TSqlTranslator.Translate(tsql);

        Assert.True(translation.ParsedAsTSql);
        Assert.Equal(expected, Assert.Single(translation.Statements).Sql);
    }

    [Fact]
    public void Translate_SelectInto_BecomesCreateTableAs_AndNamesTheTable()
    {
        var statement = Assert.Single(TSqlTranslator.Translate("SELECT TOP 5 [id], ra INTO mydb.bright FROM ctx.sources WHERE dec < 0").Statements);

        Assert.Equal("CREATE TABLE \"mydb\".\"bright\" AS SELECT \"id\", ra FROM ctx.sources WHERE dec < 0 LIMIT 5", statement.Sql);
        Assert.Equal("mydb.bright", statement.IntoTable);
        Assert.False(statement.ReturnsRows);
    }

    [Fact]
    public void Translate_DuckDbSql_PassesThroughUnchanged()
    {
        var translation = TSqlTranslator.Translate("SELECT id::VARCHAR FROM ctx.sources LIMIT 3");

        Assert.False(translation.ParsedAsTSql);
        Assert.Equal("SELECT id::VARCHAR FROM ctx.sources LIMIT 3", Assert.Single(translation.Statements).Sql);
    }

    [Theory]
    [InlineData("SELECT TOP 10 PERCENT * FROM t")]
    [InlineData("SELECT TOP 1 WITH TIES * FROM t ORDER BY a")]
    public void Translate_TopPercentOrWithTies_Returns400WithTheLine(string sql)
    {
        var error = Assert.Throws<PlatformException>(() => TSqlTranslator.Translate(sql));

        Assert.Equal(400, error.StatusCode);
        Assert.Contains("line 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TranslatedStatements_RunOnDuckDb_IntoMyDb()
    {
        var context = Path.Combine(_dir, "demo.duckdb");
        using (var setup = new DuckDBConnection($"Data Source={context}"))
        {
            setup.Open();
            using var create = setup.CreateCommand();
            create.CommandText = "CREATE TABLE sources AS SELECT i AS id, i * 0.1 AS ra, 5 - i * 0.05 AS dec FROM range(1000) t(i)";
            create.ExecuteNonQuery();
        }

        // The MyDB file is named mydb.duckdb, so SciServer's "mydb.T" names a table in it as is.
        using var db = DuckDbSandbox.Open(Path.Combine(_dir, "mydb.duckdb"), context, new DuckDbLimits());
        var script = """
            -- classic CasJobs
            SELECT TOP 5 [id], [ra], dec INTO mydb.bright FROM ctx.[sources] WHERE dec < 0 ORDER BY id;
            SELECT 42 AS answer INTO mydb.Constant;
            SELECT TOP 2 * FROM mydb.bright ORDER BY id DESC
            """;

        var statements = TSqlTranslator.Translate(script).Statements;
        long? lastRows = null;
        foreach (var statement in statements)
        {
            using var command = db.CreateCommand();
            command.CommandText = statement.Sql;
            if (statement.ReturnsRows)
            {
                using var reader = command.ExecuteReader();
                lastRows = 0;
                while (reader.Read())
                {
                    lastRows++;
                }
            }
            else
            {
                command.ExecuteNonQuery();
            }
        }

        Assert.Equal(3, statements.Count);
        Assert.Equal(["mydb.bright", "mydb.Constant", null], statements.Select(s => s.IntoTable));
        Assert.Equal(2, lastRows);
        using var check = db.CreateCommand();
        check.CommandText = "SELECT count(*), min(id) FROM mydb.bright";
        using var result = check.ExecuteReader();
        Assert.True(result.Read());
        Assert.Equal(5L, result.GetInt64(0));
        Assert.Equal(101L, result.GetInt64(1));
    }
}
