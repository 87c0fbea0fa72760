using OpenSciServer.CasJobs.Jobs;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>How the queue reads a job's SQL: whether it may write MyDB, and SciServer's CreateTable/TableName.</summary>
public sealed class QueryJobSqlTests
{
    [Theory]
    [InlineData("SELECT 1", false)]
    [InlineData("SELECT TOP 3 [id] FROM erass_synthetic; SELECT count(*) FROM erass_synthetic", false)]
    [InlineData("SELECT sum(a.range * b.range) AS s FROM range(1000000000) a, range(1000) b", false)]
    [InlineData("SELECT 1 AS x INTO mydb.t", true)]
    [InlineData("DROP TABLE t", true)]
    [InlineData("INSERT INTO t SELECT 1", true)]
    [InlineData("SELECT 1::int AS x", true)] // not T-SQL: DuckDB gets it unread, so it may do anything
    [InlineData("SELECT TOP 1 PERCENT x FROM t", true)]
    public void WritesMyDb_OnlyPlainTSqlSelectsDoNot(string sql, bool writes) =>
        Assert.Equal(writes, QueryJobSql.WritesMyDb(sql));

    [Theory]
    [InlineData("SELECT TOP 5 [id], ra FROM erass_synthetic ORDER BY id", "SELECT TOP 5 [id], ra INTO mydb.[five] FROM erass_synthetic ORDER BY id")]
    [InlineData("SELECT 1 AS x", "SELECT 1 AS x INTO mydb.[five]")]
    [InlineData("SELECT 1 AS x UNION ALL SELECT 2", "SELECT 1 AS x INTO mydb.[five] UNION ALL SELECT 2")]
    [InlineData("WITH c AS (SELECT 1 AS x) SELECT x FROM c;", "WITH c AS (SELECT 1 AS x) SELECT x INTO mydb.[five] FROM c;")]
    [InlineData("SELECT 1::int AS x;", "CREATE TABLE mydb.\"five\" AS\nSELECT 1::int AS x")]
    public void WithIntoTable_PutsTheResultIntoTheTable_WhereTSqlWritesIt(string sql, string expected)
    {
        var into = QueryJobSql.WithIntoTable(sql, "five");

        Assert.Equal(expected, into);
        var statement = Assert.Single(TSqlTranslator.Translate(into).Statements);
        Assert.StartsWith("CREATE TABLE", statement.Sql, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT 1; SELECT 2")]
    [InlineData("SELECT 1 AS x INTO mydb.other")]
    [InlineData("DROP TABLE t")]
    public void WithIntoTable_AnythingButOneSelect_IsRefused(string sql)
    {
        var e = Assert.Throws<PlatformException>(() => QueryJobSql.WithIntoTable(sql, "five"));

        Assert.Equal(ProblemKind.Invalid, e.Kind);
        Assert.Contains("one SELECT without INTO", e.Message, StringComparison.Ordinal);
    }
}
