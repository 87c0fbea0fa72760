using System.Text;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace OpenSciServer.CasJobs.TSql;

/// <summary>
/// One statement ready for DuckDB, the MyDB table it creates when it was a SELECT ... INTO, and the
/// line of the user's text it starts on (so the engine's "LINE n" can be told in the user's lines).
/// <paramref name="Explain"/>: an EXPLAIN of a statement, which returns the plan as rows and creates nothing.
/// </summary>
public sealed record TranslatedStatement(string Sql, string? IntoTable, bool ReturnsRows, int Line = 1, bool Explain = false);

/// <summary>The engine the translated SQL is for.</summary>
public enum SqlDialect
{
    /// <summary>DuckDB: identifiers are case-insensitive even when quoted, so [Name] becomes "Name".</summary>
    DuckDb,

    /// <summary>
    /// PostgreSQL: unquoted names fold to lower case and quoted ones do not, so a plain [Name] (letters,
    /// digits, '_') becomes "name", as case-insensitive as it was in T-SQL; any other [name] keeps its case.
    /// </summary>
    Postgres,
}

/// <summary>The statements of a query, and whether they were read as T-SQL (else passed on as DuckDB SQL).</summary>
public sealed record Translation(IReadOnlyList<TranslatedStatement> Statements, bool ParsedAsTSql);

/// <summary>
/// Accepts the T-SQL that years of SciServer CasJobs queries are written in, on top of DuckDB's own SQL,
/// by parsing with Microsoft's T-SQL parser (ScriptDom) and rewriting only what DuckDB reads differently:
/// <c>SELECT TOP n</c> (to LIMIT), <c>SELECT ... INTO t</c> (to CREATE TABLE t AS), <c>[bracketed]</c>
/// names (to "quoted"). Everything else keeps its original text, comments included. Text that is not
/// valid T-SQL (LIMIT, ::casts, DuckDB functions) is passed to DuckDB unchanged, which then reports any
/// error with its own position. A leading <c>EXPLAIN</c> (not T-SQL) is taken off, the statement after it
/// translated like any other, and the EXPLAIN put back in front (<see cref="ExplainPrefix"/>).
/// </summary>
public static class TSqlTranslator
{
    /// <param name="sky">
    /// The context's sky-indexed tables: cone searches on them are rewritten to read through the HEALPix index
    /// (<see cref="Sky.SkyRewriter"/>). Null when the context is not known yet: sky function arguments are only checked.
    /// </param>
    public static Translation Translate(string sql, Sky.SkyCatalog? sky = null) => Translate(sql, SqlDialect.DuckDb, sky);

    /// <param name="dialect">The engine the statements go to (PostgreSQL catalogs map the sky functions onto q3c themselves: pass no <paramref name="sky"/>).</param>
    public static Translation Translate(string sql, SqlDialect dialect, Sky.SkyCatalog? sky = null)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (ExplainPrefix.Find(sql) is { } explain)
        {
            return TranslateExplain(sql, explain, dialect, sky);
        }

        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        var fragment = parser.Parse(new StringReader(sql), out var errors);
        if (errors.Count > 0 || fragment is not TSqlScript script)
        {
            var leading = sql[..^sql.TrimStart().Length];
            return new Translation([new TranslatedStatement(Sky.SkyRewriter.Rewrite(sql.Trim(), sky), null, true, 1 + leading.Count(c => c == '\n'))], false);
        }

        var statements = new List<TranslatedStatement>();
        foreach (var statement in script.Batches.SelectMany(b => b.Statements))
        {
            var translated = TranslateStatement(statement, dialect);
            statements.Add(translated with { Sql = Sky.SkyRewriter.Rewrite(translated.Sql, sky) });
        }

        return new Translation(statements, true);
    }

    /// <summary>
    /// <c>EXPLAIN [options] statement</c>: the statement translated (T-SQL, sky functions onto the index) and explained. Its
    /// plan comes back as rows; a SELECT ... INTO or CREATE explained is not run, so it creates nothing. With ANALYZE the
    /// engine runs the statement, so only a statement that reads may be explained that way.
    /// </summary>
    private static Translation TranslateExplain(string sql, ExplainPrefix explain, SqlDialect dialect, Sky.SkyCatalog? sky)
    {
        var statement = sql[explain.StatementStart..];
        var inner = statement.Trim().TrimEnd(';').Trim().Length == 0 ? null : Translate(statement, dialect, sky);
        if (inner is null || inner.Statements.Count == 0)
        {
            throw Infrastructure.PlatformException.Invalid("EXPLAIN needs the statement to explain after it, e.g. EXPLAIN SELECT ... .", "query");
        }

        var first = inner.Statements[0];
        if (explain.Analyze && (first.IntoTable is not null || !first.ReturnsRows || !Reads(statement)))
        {
            throw Infrastructure.PlatformException.Invalid(
                "EXPLAIN ANALYZE runs the statement to measure it, so it is only for a query that reads (SELECT without INTO). " +
                "EXPLAIN without ANALYZE shows the plan of a statement that writes, without running it.", "query");
        }

        var lines = sql[..explain.StatementStart].Count(c => c == '\n');
        var statements = inner.Statements
            .Select((s, i) => (i == 0 ? s with { Sql = explain.Text + s.Sql, IntoTable = null, ReturnsRows = true, Explain = true } : s) with { Line = s.Line + lines })
            .ToList();
        return new Translation(statements, inner.ParsedAsTSql);
    }

    // Whether a statement starts as a query that only reads does (SELECT, WITH, FROM, VALUES, TABLE, a parenthesis).
    private static bool Reads(string statement)
    {
        var first = new TSql160Parser(initialQuotedIdentifiers: true).GetTokenStream(new StringReader(statement), out _)
            .FirstOrDefault(t => t.TokenType is not (TSqlTokenType.WhiteSpace or TSqlTokenType.SingleLineComment or TSqlTokenType.MultilineComment));
        return first is not null && (first.TokenType is TSqlTokenType.Select or TSqlTokenType.With or TSqlTokenType.From or TSqlTokenType.Values or TSqlTokenType.LeftParenthesis
            || string.Equals(first.Text, "TABLE", StringComparison.OrdinalIgnoreCase));
    }

    private static TranslatedStatement TranslateStatement(TSqlStatement statement, SqlDialect dialect)
    {
        var tokens = statement.ScriptTokenStream;
        var replace = new Dictionary<int, string>();
        var append = new Dictionary<int, string>();
        string? prefix = null;
        string? into = null;

        // TOP n in any query specification (outer query, subqueries, CTEs) becomes LIMIT n after it.
        var tops = new TopFinder();
        statement.Accept(tops);
        foreach (var query in tops.Queries)
        {
            var top = query.TopRowFilter;
            if (top.Percent || top.WithTies)
            {
                throw Infrastructure.PlatformException.Invalid(
                    $"TOP ... {(top.Percent ? "PERCENT" : "WITH TIES")} (line {top.StartLine}) is not supported; use LIMIT or a window function.", "query");
            }

            var topKeyword = Enumerable.Range(query.FirstTokenIndex, top.FirstTokenIndex - query.FirstTokenIndex + 1)
                .Last(i => tokens[i].TokenType == TSqlTokenType.Top);
            for (var i = topKeyword; i <= top.LastTokenIndex; i++)
            {
                replace[i] = "";
            }

            append[query.LastTokenIndex] = (append.GetValueOrDefault(query.LastTokenIndex) ?? "") + " LIMIT " + Text(tokens, top.Expression, dialect).Trim('(', ')', ' ');
        }

        if (statement is SelectStatement { Into: { } target } select)
        {
            var intoKeyword = Enumerable.Range(select.FirstTokenIndex, target.FirstTokenIndex - select.FirstTokenIndex)
                .Last(i => tokens[i].TokenType == TSqlTokenType.Into);
            for (var i = intoKeyword; i <= target.LastTokenIndex; i++)
            {
                replace[i] = "";
            }

            into = string.Join('.', target.Identifiers.Select(id => dialect == SqlDialect.Postgres ? Folded(id.Value) : id.Value));
            prefix = "CREATE TABLE " + string.Join('.', target.Identifiers.Select(id => dialect == SqlDialect.Postgres ? Quote(Folded(id.Value)) : Quote(id.Value))) + " AS ";
        }

        var text = new StringBuilder(prefix);
        for (var i = statement.FirstTokenIndex; i <= statement.LastTokenIndex; i++)
        {
            var token = tokens[i];
            text.Append(replace.TryGetValue(i, out var r) ? r
                : token.TokenType == TSqlTokenType.QuotedIdentifier && token.Text.StartsWith('[') ? QuoteBracketed(token.Text, dialect)
                : token.Text);
            if (append.TryGetValue(i, out var tail))
            {
                text.Append(tail);
            }
        }

        var sql = CollapseBlanks(text.ToString());
        return new TranslatedStatement(sql, into, statement is SelectStatement { Into: null }, statement.StartLine);
    }

    private static string Text(IList<TSqlParserToken> tokens, TSqlFragment fragment, SqlDialect dialect)
    {
        var sb = new StringBuilder();
        for (var i = fragment.FirstTokenIndex; i <= fragment.LastTokenIndex; i++)
        {
            sb.Append(tokens[i].TokenType == TSqlTokenType.QuotedIdentifier && tokens[i].Text.StartsWith('[') ? QuoteBracketed(tokens[i].Text, dialect) : tokens[i].Text);
        }

        return sb.ToString();
    }

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    // [a]]b] is the name a]b; in DuckDB it is "a]b". For PostgreSQL a plain name is folded as PostgreSQL folds unquoted names.
    private static string QuoteBracketed(string bracketed, SqlDialect dialect)
    {
        var name = bracketed[1..^1].Replace("]]", "]", StringComparison.Ordinal);
        return Quote(dialect == SqlDialect.Postgres ? Folded(name) : name);
    }

    /// <summary>A plain name (letters, digits, '_', not starting with a digit) in lower case, as PostgreSQL folds it unquoted; any other name as it is.</summary>
    private static string Folded(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? name.ToLowerInvariant() : name;

    // Removing TOP and INTO leaves double spaces; tidy them outside quotes so the SQL reads well in history.
    private static string CollapseBlanks(string sql)
    {
        var sb = new StringBuilder(sql.Length);
        char? quote = null;
        foreach (var c in sql)
        {
            if (quote is null && c is '\'' or '"')
            {
                quote = c;
            }
            else if (quote == c)
            {
                quote = null;
            }

            if (quote is null && c == ' ' && sb.Length > 0 && sb[^1] == ' ')
            {
                continue;
            }

            sb.Append(c);
        }

        return sb.ToString().Trim();
    }

    private sealed class TopFinder : TSqlFragmentVisitor
    {
        public List<QuerySpecification> Queries { get; } = [];

        public override void Visit(QuerySpecification node)
        {
            if (node?.TopRowFilter is not null)
            {
                Queries.Add(node);
            }

            base.Visit(node);
        }
    }
}
