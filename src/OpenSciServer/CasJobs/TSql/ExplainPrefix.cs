using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace OpenSciServer.CasJobs.TSql;

/// <summary>
/// A leading <c>EXPLAIN</c> of a query, as DuckDB and PostgreSQL write it: <c>EXPLAIN</c>, then either options in parentheses
/// (<c>EXPLAIN (ANALYZE, COSTS OFF)</c>, <c>EXPLAIN (FORMAT JSON)</c>) or the words ANALYZE and VERBOSE, then the statement
/// explained, which starts at <see cref="StatementStart"/>. T-SQL has no EXPLAIN (its parser would read the word as a
/// procedure call), so the translator takes it off, translates the statement and puts it back as <see cref="Text"/>.
/// </summary>
/// <param name="Text">The prefix as the engine gets it: <c>EXPLAIN</c>, the options as written, one space after each.</param>
/// <param name="Analyze">Whether the statement runs (ANALYZE): it is then only allowed to read.</param>
/// <param name="StatementStart">Where the explained statement starts in the user's text.</param>
public sealed record ExplainPrefix(string Text, bool Analyze, int StatementStart)
{
    private static readonly HashSet<string> LegacyOptions = new(StringComparer.OrdinalIgnoreCase) { "ANALYZE", "ANALYSE", "VERBOSE" };

    private static readonly HashSet<string> Off = new(StringComparer.OrdinalIgnoreCase) { "OFF", "FALSE", "0" };

    /// <summary>
    /// The EXPLAIN that <paramref name="sql"/> starts with (comments and blanks before it skipped), or null when its first
    /// token is not the word EXPLAIN. Read with the T-SQL lexer, so EXPLAIN inside a comment, a string or a quoted name is not one.
    /// </summary>
    public static ExplainPrefix? Find(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (sql.IndexOf("EXPLAIN", StringComparison.OrdinalIgnoreCase) < 0)
        {
            return null;
        }

        var tokens = new TSql160Parser(initialQuotedIdentifiers: true).GetTokenStream(new StringReader(sql), out _)
            .Where(t => t.TokenType is not (TSqlTokenType.WhiteSpace or TSqlTokenType.SingleLineComment or TSqlTokenType.MultilineComment))
            .ToList();
        if (tokens.Count == 0 || !IsWord(tokens[0], "EXPLAIN"))
        {
            return null;
        }

        var text = new System.Text.StringBuilder("EXPLAIN ");
        var analyze = false;
        var next = 1;
        if (next + 1 < tokens.Count && tokens[next].TokenType == TSqlTokenType.LeftParenthesis
            && tokens[next + 1].TokenType is not (TSqlTokenType.Select or TSqlTokenType.With or TSqlTokenType.LeftParenthesis))
        {
            // EXPLAIN (option [value], ...): up to the matching parenthesis.
            var depth = 0;
            var options = new List<TSqlParserToken>();
            for (; next < tokens.Count; next++)
            {
                depth += tokens[next].TokenType switch { TSqlTokenType.LeftParenthesis => 1, TSqlTokenType.RightParenthesis => -1, _ => 0 };
                options.Add(tokens[next]);
                if (depth == 0)
                {
                    next++;
                    break;
                }
            }

            for (var i = 0; i < options.Count; i++)
            {
                if (IsWord(options[i], "ANALYZE") || IsWord(options[i], "ANALYSE"))
                {
                    analyze |= i + 1 >= options.Count || !Off.Contains(options[i + 1].Text);
                }
            }

            text.Append('(').AppendJoin(" ", Options(options)).Append(") ");
        }
        else
        {
            for (; next < tokens.Count && LegacyOptions.Contains(tokens[next].Text); next++)
            {
                analyze |= !IsWord(tokens[next], "VERBOSE");
                text.Append(tokens[next].Text.ToUpperInvariant()).Append(' ');
            }
        }

        var start = next < tokens.Count && tokens[next].TokenType != TSqlTokenType.EndOfFile ? tokens[next].Offset : sql.Length;
        return new ExplainPrefix(text.ToString(), analyze, start);
    }

    // The options between the outer parentheses, one word or symbol each, commas kept where they were: (ANALYZE, COSTS OFF).
    private static List<string> Options(List<TSqlParserToken> options)
    {
        var parts = new List<string>();
        for (var i = 1; i < options.Count - 1; i++)
        {
            if (options[i].TokenType == TSqlTokenType.Comma && parts.Count > 0)
            {
                parts[^1] += ",";
            }
            else
            {
                parts.Add(options[i].Text);
            }
        }

        return parts;
    }

    private static bool IsWord(TSqlParserToken token, string word) =>
        token.TokenType != TSqlTokenType.QuotedIdentifier && string.Equals(token.Text, word, StringComparison.OrdinalIgnoreCase);
}
