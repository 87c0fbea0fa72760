using OpenSciServer.CasJobs.Engines.Postgres;
using OpenSciServer.CasJobs.TSql;

namespace OpenSciServer.Tests.CasJobs;

/// <summary>What the PostgreSQL engine does to the user's SQL before PostgreSQL sees it, and to PostgreSQL's errors.</summary>
public sealed class PostgresEngineTextTests
{
    [Theory]
    [InlineData("SELECT TOP 3 [ID], ra FROM [Sources] ORDER BY id", "SELECT \"id\", ra FROM \"sources\" ORDER BY id LIMIT 3")]
    [InlineData("SELECT id INTO mydb.Bright FROM sources", "CREATE TABLE \"mydb\".\"bright\" AS SELECT id FROM sources")]
    [InlineData("SELECT [odd name] FROM t", "SELECT \"odd name\" FROM t")]
    [InlineData("SELECT x FROM t LIMIT 3", "SELECT x FROM t LIMIT 3")]
    public void Translate_PostgresDialect_FoldsPlainNamesAsPostgresDoes(string sql, string expected)
    {
        var statement = Assert.Single(PostgresCatalogs.Translate(sql));

        Assert.Equal(expected, statement.Sql);
    }

    [Fact]
    public void Translate_DuckDbDialect_KeepsTheCaseOfBracketedNames()
    {
        var statement = Assert.Single(TSqlTranslator.Translate("SELECT TOP 3 [ID] INTO mydb.Bright FROM [Sources]").Statements);

        Assert.Equal("CREATE TABLE \"mydb\".\"Bright\" AS SELECT \"ID\" FROM \"Sources\" LIMIT 3", statement.Sql);
        Assert.Equal("mydb.Bright", statement.IntoTable);
    }

    [Fact]
    public void Translate_PostgresDialect_ASelectIsReadThroughTheCursorAndAnIntoIsNot()
    {
        var statements = PostgresCatalogs.Translate("SELECT 1 AS a; SELECT 2 AS b INTO mydb.t");

        Assert.Equal([true, false], statements.Select(s => s.IsSelect));
        Assert.Equal("mydb.t", statements[1].IntoTable);
    }

    [Theory]
    [InlineData("SELECT * FROM mydb.t", "SELECT * FROM \"mydb_alice\".t")]
    [InlineData("SELECT * FROM MyDB . t JOIN \"mydb\".u ON true", "SELECT * FROM \"mydb_alice\" . t JOIN \"mydb_alice\".u ON true")]
    [InlineData("SELECT 'mydb.t', \"mydb\" FROM t -- mydb.t\n/* mydb.t */", "SELECT 'mydb.t', \"mydb\" FROM t -- mydb.t\n/* mydb.t */")]
    [InlineData("SELECT $$mydb.t$$, $x$ mydb.t $x$, E'it''s \\' mydb.t'", "SELECT $$mydb.t$$, $x$ mydb.t $x$, E'it''s \\' mydb.t'")]
    [InlineData("SELECT other.mydb.t, mydb_x.t, x.mydb FROM mydb", "SELECT other.mydb.t, mydb_x.t, x.mydb FROM mydb")]
    [InlineData("SELECT * FROM dbo.fGetNearbyObjEq(1, 2, 3) JOIN dbo.t ON true", "SELECT * FROM fGetNearbyObjEq(1, 2, 3) JOIN dbo.t ON true")]
    public void WithMyDbSchema_RenamesOnlyTheSchemaMyDb(string sql, string expected) =>
        Assert.Equal(expected, PostgresText.WithMyDbSchema(sql, "mydb_alice"));

    [Fact]
    public void WithMyDbSchema_NoLogin_LeavesMyDbAlone() =>
        Assert.Equal("SELECT * FROM mydb.t, fgetnearbyobjeq(1, 2, 3)", PostgresText.WithMyDbSchema("SELECT * FROM mydb.t, DBO . fgetnearbyobjeq(1, 2, 3)", null));

    [Fact]
    public void ErrorMessage_TranslatedTSql_PointsIntoTheUsersOwnLine()
    {
        const string User = "SELECT TOP 3 id,\n       [nosuch]   , ra\nFROM sources";
        var sent = Assert.Single(PostgresCatalogs.Translate(User)).Sql;
        var position = sent.IndexOf("\"nosuch\"", StringComparison.Ordinal) + 1;

        var message = PostgresText.ErrorMessage("column \"nosuch\" does not exist", null, "Perhaps you meant id.", sent, position, 1, User);

        Assert.Equal("column \"nosuch\" does not exist (line 2, column 8)\nLINE 2:        [nosuch]   , ra\n               ^\nHINT: Perhaps you meant id.", message);
    }

    [Theory]
    [InlineData("bigint", "BigInt", "BIGINT")]
    [InlineData("double precision", "Double", "DOUBLE")]
    [InlineData("real", "Float", "FLOAT")]
    [InlineData("numeric(10,2)", "Decimal", "DECIMAL(10,2)")]
    [InlineData("character varying(20)", "Varchar", "VARCHAR")]
    [InlineData("timestamp with time zone", "TimestampTz", "TIMESTAMP WITH TIME ZONE")]
    public void Types_MapToTheDuckDbEnginesNames(string postgres, string result, string schema)
    {
        Assert.Equal(result, PostgresText.ResultType(postgres));
        Assert.Equal(schema, PostgresText.SchemaType(postgres));
    }
}
