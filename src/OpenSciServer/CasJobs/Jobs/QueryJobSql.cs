using Microsoft.SqlServer.TransactSql.ScriptDom;
using OpenSciServer.CasJobs.TSql;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Jobs;

/// <summary>What the job queue needs to know about a job's SQL, read by the T-SQL parser like the translator does.</summary>
public static class QueryJobSql
{
    private const string MyDb = Engines.DuckDbSandbox.MyDbCatalog;

    /// <summary>
    /// Whether a job may write into MyDB: anything but plain SELECTs (without INTO) read as T-SQL. SQL that is
    /// not T-SQL is passed to DuckDB unread, so it counts as writing. A job that writes needs its owner's MyDB
    /// to itself (DuckDB has one writer per file); jobs that only read may run side by side.
    /// </summary>
    public static bool WritesMyDb(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        try
        {
            var translation = TSqlTranslator.Translate(sql);
            return !translation.ParsedAsTSql || translation.Statements.Any(s => !s.ReturnsRows);
        }
        catch (PlatformException)
        {
            return true; // it fails when it runs; classify it the safe way
        }
    }

    /// <summary>
    /// SciServer's CreateTable/TableName: the query's result goes into a new MyDB table. For a T-SQL SELECT this
    /// adds <c>INTO mydb.[table]</c> where T-SQL puts it, so the history shows a query that says what it does;
    /// DuckDB SQL becomes <c>CREATE TABLE mydb."table" AS ...</c>.
    /// </summary>
    public static string WithIntoTable(string sql, string table)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(table);
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        var fragment = parser.Parse(new StringReader(sql), out var errors);
        if (errors.Count > 0 || fragment is not TSqlScript script)
        {
            return $"CREATE TABLE {MyDb}.\"{table}\" AS\n{sql.Trim().TrimEnd(';')}";
        }

        var statements = script.Batches.SelectMany(b => b.Statements).ToList();
        if (statements is not [SelectStatement { Into: null } select] || Leftmost(select.QueryExpression) is not { } query)
        {
            throw PlatformException.Invalid("With CreateTable the query must be one SELECT without INTO: its result becomes the table TableName.", "query");
        }

        var tokens = select.ScriptTokenStream;
        var (at, into) = query.FromClause is { } from
            ? (from.FirstTokenIndex, $"INTO {MyDb}.[{table}] ")
            : (query.SelectElements[^1].LastTokenIndex + 1, $" INTO {MyDb}.[{table}]");
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < tokens.Count; i++)
        {
            text.Append(i == at ? into : "").Append(tokens[i].Text);
        }

        return text.ToString().Trim();
    }

    // In a UNION, T-SQL's INTO belongs to the first SELECT.
    private static QuerySpecification? Leftmost(QueryExpression expression) => expression switch
    {
        QuerySpecification q => q,
        BinaryQueryExpression b => Leftmost(b.FirstQueryExpression),
        QueryParenthesisExpression p => Leftmost(p.QueryExpression),
        _ => null,
    };
}
