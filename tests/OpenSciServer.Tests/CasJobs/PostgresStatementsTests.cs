using OpenSciServer.CasJobs.Engines.Postgres;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>The splitter that sends user SQL to PostgreSQL one statement per message, and the refusal of transaction control.</summary>
public sealed class PostgresStatementsTests
{
    [Theory]
    [InlineData("SELECT 1; SELECT 2", new[] { "SELECT 1", " SELECT 2" })]
    [InlineData("SELECT ';' AS a; SELECT 2;", new[] { "SELECT ';' AS a", " SELECT 2" })]
    [InlineData("SELECT 'it''s;' ; SELECT E'\\';' ; SELECT \"a;b\" FROM t", new[] { "SELECT 'it''s;' ", " SELECT E'\\';' ", " SELECT \"a;b\" FROM t" })]
    [InlineData("DO $$ BEGIN PERFORM 1; END $$; DO $x$ ; $x$", new[] { "DO $$ BEGIN PERFORM 1; END $$", " DO $x$ ; $x$" })]
    [InlineData("SELECT 1 -- ; not here\n; /* a /* nested ; */ ; */ SELECT 2", new[] { "SELECT 1 -- ; not here\n", " /* a /* nested ; */ ; */ SELECT 2" })]
    [InlineData(";; -- only a comment\n;", new string[0])]
    [InlineData("SELECT a$1; SELECT $1", new[] { "SELECT a$1", " SELECT $1" })]
    public void Split_SemicolonsOutsideStringsCommentsAndDollarQuotes_SeparateStatements(string sql, string[] expected)
    {
        Assert.Equal(expected, PostgresStatements.Split(sql));
    }

    [Theory]
    [InlineData("SELECT 1; COMMIT")]
    [InlineData("select 1;\n  /* hidden */ -- also\n commit")]
    [InlineData("End")]
    [InlineData("ROLLBACK AND CHAIN")]
    [InlineData("abort")]
    [InlineData("BEGIN; SELECT 1")]
    [InlineData("START TRANSACTION")]
    [InlineData("PREPARE TRANSACTION 'x'")]
    [InlineData("COMMIT PREPARED 'x'")]
    public void RefuseTransactionControl_StatementsThatEndOrOpenATransaction_400(string sql)
    {
        var e = Assert.Throws<PlatformException>(() => PostgresStatements.RefuseTransactionControl([sql]));

        Assert.Equal(ProblemKind.Invalid, e.Kind);
        Assert.Contains("cannot be used here", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SAVEPOINT a; ROLLBACK TO SAVEPOINT a; RELEASE a")]
    [InlineData("ROLLBACK TO a")]
    [InlineData("PREPARE q AS SELECT 1; EXECUTE q")]
    [InlineData("SELECT 'COMMIT'; SELECT 1 AS \"commit\"; -- COMMIT")]
    [InlineData("DO $$ BEGIN NULL; END $$")]
    [InlineData("SELECT CASE WHEN true THEN 1 END")]
    public void RefuseTransactionControl_OtherStatements_Allowed(string sql)
    {
        PostgresStatements.RefuseTransactionControl([sql]);
    }

    [Theory]
    [InlineData("SELECT id, ra FROM s WHERE cone(ra, dec, 150.1, 2.2, 1 / 60.0)", true)]
    [InlineData("-- a comment\nWITH c AS (SELECT 1 AS x) SELECT x::int FROM c", true)]
    [InlineData("SELECT 'INSERT INTO t' AS text, \"update\" FROM t /* DELETE */", true)]
    [InlineData("SELECT 1;", false)]
    [InlineData("SELECT 1; SELECT 2", false)]
    [InlineData("SELECT * INTO mydb.t FROM s", false)]
    [InlineData("WITH d AS (DELETE FROM mydb.t RETURNING *) SELECT * FROM d", false)]
    [InlineData("SELECT * FROM s FOR UPDATE", false)]
    [InlineData("SELECT set_config('a.b', 'c', false) FROM s", true)]
    [InlineData("INSERT INTO mydb.t VALUES (1)", false)]
    [InlineData("SET search_path = public", false)]
    [InlineData("EXPLAIN SELECT 1", false)]
    public void IsPlainRead_OneSelectWithoutWritingWords(string sql, bool expected)
    {
        Assert.Equal(expected, PostgresStatements.IsPlainRead(sql));
    }
}
