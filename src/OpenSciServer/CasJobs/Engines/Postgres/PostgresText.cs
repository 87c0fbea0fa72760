using System.Globalization;
using System.Text;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>What the PostgreSQL engine does to SQL text and to PostgreSQL's answers: the <c>mydb.</c> name, error positions, type names.</summary>
public static class PostgresText
{
    /// <summary>
    /// Replaces the schema name <c>mydb</c> (<c>mydb.T</c>, <c>"mydb".T</c>, any case) by the user's own schema, outside
    /// string literals, quoted names of other things, comments and dollar-quoted bodies. PostgreSQL has one
    /// namespace of schemas per database, so everyone's MyDB cannot be called <c>mydb</c> there; users write
    /// <c>mydb.T</c> as in every other context.
    /// </summary>
    /// <remarks>
    /// Also drops SkyServer's <c>dbo.</c> before <c>fGetNearbyObjEq</c> (the function is found on the search path).
    /// <paramref name="schema"/> null (no login, no MyDB): <c>mydb</c> is left as it is.
    /// </remarks>
    public static string WithMyDbSchema(string sql, string? schema)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var quotedSchema = schema is null ? null : Sql.Identifier(schema);
        var sb = new StringBuilder(sql.Length + 16);
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '\'' || (c is 'e' or 'E' && i + 1 < sql.Length && sql[i + 1] == '\'' && !WordBefore(sql, i)))
            {
                var start = i;
                var escapes = c is 'e' or 'E';
                i += escapes ? 2 : 1;
                while (i < sql.Length)
                {
                    if (escapes && sql[i] == '\\')
                    {
                        i += 2;
                        continue;
                    }

                    if (sql[i] == '\'')
                    {
                        if (i + 1 < sql.Length && sql[i + 1] == '\'')
                        {
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    i++;
                }

                sb.Append(sql, start, Math.Min(i, sql.Length) - start);
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                end = end < 0 ? sql.Length : end;
                sb.Append(sql, i, end - i);
                i = end;
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? sql.Length : end + 2;
                sb.Append(sql, i, end - i);
                i = end;
            }
            else if (c == '$' && DollarTag(sql, i) is { } tag)
            {
                var end = sql.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                end = end < 0 ? sql.Length : end + tag.Length;
                sb.Append(sql, i, end - i);
                i = end;
            }
            else if (c == '"')
            {
                var close = i + 1;
                while (close < sql.Length)
                {
                    if (sql[close] == '"')
                    {
                        if (close + 1 < sql.Length && sql[close + 1] == '"')
                        {
                            close += 2;
                            continue;
                        }

                        break;
                    }

                    close++;
                }

                var name = sql[(i + 1)..Math.Min(close, sql.Length)];
                var end = Math.Min(close + 1, sql.Length);
                var qualified = i > 0 && PreviousNonBlank(sql, i) == '.';
                sb.Append(quotedSchema is not null && string.Equals(name, "mydb", StringComparison.OrdinalIgnoreCase) && !qualified && FollowedByDot(sql, end) ? quotedSchema : sql[i..end]);
                i = end;
            }
            else if (IsWordStart(c) && !WordBefore(sql, i))
            {
                var end = i;
                while (end < sql.Length && IsWordPart(sql[end]))
                {
                    end++;
                }

                var word = sql[i..end];
                var qualified = i > 0 && PreviousNonBlank(sql, i) == '.';
                if (string.Equals(word, "dbo", StringComparison.OrdinalIgnoreCase) && !qualified && FollowedByDot(sql, end)
                    && string.Equals(NextWord(sql, sql.IndexOf('.', end) + 1), "fGetNearbyObjEq", StringComparison.OrdinalIgnoreCase))
                {
                    i = sql.IndexOf('.', end) + 1;
                    while (i < sql.Length && char.IsWhiteSpace(sql[i]))
                    {
                        i++;
                    }

                    continue;
                }

                sb.Append(quotedSchema is not null && string.Equals(word, "mydb", StringComparison.OrdinalIgnoreCase) && !qualified && FollowedByDot(sql, end) ? quotedSchema : word);
                i = end;
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString();
    }

    private static string NextWord(string sql, int at)
    {
        while (at < sql.Length && char.IsWhiteSpace(sql[at]))
        {
            at++;
        }

        var end = at;
        while (end < sql.Length && IsWordPart(sql[end]))
        {
            end++;
        }

        return sql[at..end];
    }

    private static bool IsWordStart(char c) => char.IsLetter(c) || c == '_';

    private static bool IsWordPart(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';

    private static bool WordBefore(string sql, int i) => i > 0 && IsWordPart(sql[i - 1]);

    private static char PreviousNonBlank(string sql, int i)
    {
        for (var j = i - 1; j >= 0; j--)
        {
            if (!char.IsWhiteSpace(sql[j]))
            {
                return sql[j];
            }
        }

        return '\0';
    }

    private static bool FollowedByDot(string sql, int end)
    {
        while (end < sql.Length && char.IsWhiteSpace(sql[end]))
        {
            end++;
        }

        return end < sql.Length && sql[end] == '.';
    }

    // $$ or $tag$ opening a dollar-quoted string (not $1, a parameter).
    private static string? DollarTag(string sql, int i)
    {
        if (WordBefore(sql, i))
        {
            return null;
        }

        var end = i + 1;
        while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] == '_'))
        {
            end++;
        }

        return end < sql.Length && sql[end] == '$' && (end == i + 1 || !char.IsAsciiDigit(sql[i + 1])) ? sql[i..(end + 1)] : null;
    }

    /// <summary>
    /// PostgreSQL's error as the user reads it: its message, the line and column of the user's text it points
    /// at (PostgreSQL counts characters from the start of the statement sent; the statement started on
    /// <paramref name="firstLine"/> of what the user wrote), that line with a caret, and PostgreSQL's hint.
    /// </summary>
    /// <param name="userText">What the user wrote: the line and column are told in it. T-SQL is translated token by token and
    /// keeps its lines, so the token PostgreSQL points at is looked up on the same line of the user's text.</param>
    public static string ErrorMessage(string message, string? detail, string? hint, string sent, int position, int firstLine, string? userText = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(sent);
        var sb = new StringBuilder(message);
        if (position > 0 && position <= sent.Length + 1)
        {
            var offset = Math.Min(position - 1, sent.Length);
            var before = sent[..offset];
            var lineIndex = before.Count(ch => ch == '\n');
            var lineStart = before.LastIndexOf('\n') + 1;
            var column = offset - lineStart + 1;
            var lineEnd = sent.IndexOf('\n', lineStart);
            var lineText = sent[lineStart..(lineEnd < 0 ? sent.Length : lineEnd)].TrimEnd('\r');
            var line = firstLine + lineIndex;
            (column, lineText) = InUsersLine(lineText, column, UserLine(userText, line));
            var label = string.Create(CultureInfo.InvariantCulture, $"LINE {line}: ");
            sb.Append(CultureInfo.InvariantCulture, $" (line {line}, column {column})")
                .Append('\n').Append(label).Append(lineText)
                .Append('\n').Append(' ', label.Length + column - 1).Append('^');
        }

        if (!string.IsNullOrWhiteSpace(detail))
        {
            sb.Append("\nDETAIL: ").Append(detail);
        }

        if (!string.IsNullOrWhiteSpace(hint))
        {
            sb.Append("\nHINT: ").Append(hint);
        }

        return sb.ToString();
    }

    private static string? UserLine(string? userText, int line)
    {
        if (userText is null)
        {
            return null;
        }

        var lines = userText.Split('\n');
        return line >= 1 && line <= lines.Length ? lines[line - 1].TrimEnd('\r') : null;
    }

    /// <summary>The column of the token at <paramref name="column"/> of the sent line, found on the user's line (same occurrence), else the sent line as it is.</summary>
    private static (int Column, string LineText) InUsersLine(string sentLine, int column, string? userLine)
    {
        if (userLine is null || userLine == sentLine || column < 1 || column > sentLine.Length)
        {
            return (column, sentLine);
        }

        var match = System.Text.RegularExpressions.Regex.Match(sentLine[(column - 1)..], @"^(""[^""]*""|\w+|\S)");
        if (!match.Success)
        {
            return (column, sentLine);
        }

        var token = match.Value;
        var bare = token.Length > 2 && token[0] == '"' ? token[1..^1] : token;
        var occurrence = Occurrences(sentLine[..(column - 1)], token);
        foreach (var candidate in new[] { token, "[" + bare + "]", bare }.Distinct())
        {
            var at = NthIndex(userLine, candidate, occurrence);
            if (at >= 0)
            {
                return (at + 1, userLine);
            }
        }

        return (column, sentLine);
    }

    private static int Occurrences(string text, string token)
    {
        var count = 0;
        for (var at = text.IndexOf(token, StringComparison.OrdinalIgnoreCase); at >= 0; at = text.IndexOf(token, at + token.Length, StringComparison.OrdinalIgnoreCase))
        {
            count++;
        }

        return count;
    }

    private static int NthIndex(string text, string token, int n)
    {
        var at = text.IndexOf(token, StringComparison.OrdinalIgnoreCase);
        for (var i = 0; i < n && at >= 0; i++)
        {
            at = text.IndexOf(token, at + token.Length, StringComparison.OrdinalIgnoreCase);
        }

        return at;
    }

    /// <summary>
    /// A result column's PostgreSQL type as the type names the DuckDB engine reports (DuckDB.NET's), so the
    /// result formats (FITS, VOTable, ...) map both engines' columns to the same kinds.
    /// </summary>
    public static string ResultType(string postgresType) => postgresType switch
    {
        "bigint" => "BigInt",
        "integer" => "Integer",
        "smallint" => "SmallInt",
        "double precision" => "Double",
        "real" => "Float",
        "boolean" => "Boolean",
        "text" or "name" or "\"char\"" => "Varchar",
        "date" => "Date",
        "uuid" => "Uuid",
        "bytea" => "Blob",
        _ when postgresType.StartsWith("numeric", StringComparison.Ordinal) => "Decimal",
        _ when postgresType.StartsWith("character", StringComparison.Ordinal) => "Varchar",
        _ when postgresType.StartsWith("timestamp", StringComparison.Ordinal) && postgresType.EndsWith("with time zone", StringComparison.Ordinal) => "TimestampTz",
        _ when postgresType.StartsWith("timestamp", StringComparison.Ordinal) => "Timestamp",
        _ => postgresType,
    };

    /// <summary>A catalog column's PostgreSQL type (format_type) in the words the DuckDB engine's schema uses (BIGINT, DOUBLE, VARCHAR...).</summary>
    public static string SchemaType(string postgresType)
    {
        ArgumentNullException.ThrowIfNull(postgresType);
        return postgresType switch
        {
            "bigint" => "BIGINT",
            "integer" => "INTEGER",
            "smallint" => "SMALLINT",
            "double precision" => "DOUBLE",
            "real" => "FLOAT",
            "boolean" => "BOOLEAN",
            "text" => "VARCHAR",
            _ when postgresType.StartsWith("character varying", StringComparison.Ordinal) => "VARCHAR",
            _ when postgresType.StartsWith("numeric", StringComparison.Ordinal) => "DECIMAL" + postgresType["numeric".Length..],
            _ => postgresType.ToUpperInvariant(),
        };
    }
}
