using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>
/// Splits user SQL for PostgreSQL into statements at the semicolons outside strings, quoted names, comments and
/// dollar-quoted bodies, and finds the statements that would end the platform's transaction. Each part is then sent
/// as one protocol message, which PostgreSQL refuses if it holds more than one statement: where this splitter and
/// PostgreSQL's parser disagree, the query fails; it never runs a statement this class did not look at.
/// </summary>
public static class PostgresStatements
{
    /// <summary>The statements of <paramref name="sql"/>, without empty ones (only blanks, comments or semicolons).</summary>
    public static IReadOnlyList<string> Split(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var parts = new List<string>();
        var start = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == ';')
            {
                Add(sql[start..i]);
                start = ++i;
            }
            else
            {
                i = Skip(sql, i);
            }
        }

        Add(sql[start..]);
        return parts;

        void Add(string part)
        {
            if (FirstWords(part, 1).Count > 0)
            {
                parts.Add(part);
            }
        }
    }

    /// <summary>
    /// Refuses (400) SQL with a statement that ends or opens a transaction (COMMIT, END, ROLLBACK, ABORT, BEGIN, START
    /// TRANSACTION, PREPARE TRANSACTION): the platform commits a query itself, after checking the MyDB quota.
    /// SAVEPOINT, RELEASE and ROLLBACK TO stay inside the transaction and are allowed.
    /// </summary>
    public static void RefuseTransactionControl(IEnumerable<string> statements)
    {
        ArgumentNullException.ThrowIfNull(statements);
        foreach (var part in statements.SelectMany(Split))
        {
            var words = FirstWords(part, 2);
            var first = words[0].ToUpperInvariant();
            var second = words.Count > 1 ? words[1].ToUpperInvariant() : "";
            var refused = first switch
            {
                "COMMIT" or "END" or "ABORT" or "BEGIN" or "START" => true,
                "ROLLBACK" => second != "TO",
                "PREPARE" => second == "TRANSACTION",
                _ => false,
            };
            if (refused)
            {
                throw PlatformException.Invalid(
                    $"'{words[0]}' cannot be used here: each query runs in one transaction that the platform commits after checking your MyDB's size " +
                    "(all of it is kept, or none of it). Leave out BEGIN, COMMIT and ROLLBACK; SAVEPOINT and ROLLBACK TO SAVEPOINT work.", "query");
            }
        }
    }

    /// <summary>Words that make a statement more than a plain read (or that it cannot be read through a cursor with).</summary>
    private static readonly HashSet<string> NotARead = new(StringComparer.OrdinalIgnoreCase)
    {
        "INTO", "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "COPY", "CALL", "DO", "GRANT", "REVOKE",
        "COMMENT", "LOCK", "SET", "RESET", "FOR", "NOTIFY", "LISTEN", "UNLISTEN", "VACUUM", "ANALYZE", "REFRESH", "SECURITY", "PREPARE",
        "EXECUTE", "DECLARE", "FETCH", "MOVE", "CLOSE", "DISCARD", "EXPLAIN", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
    };

    /// <summary>
    /// Whether SQL that is not T-SQL is one plain read: a single <c>SELECT</c> or <c>WITH</c> statement without a word that
    /// writes, locks or sets (outside strings, quoted names and comments) and without a closing semicolon. Such a query is read
    /// through a cursor in a read-only transaction; a false "no" only costs it that shortcut, and PostgreSQL itself refuses
    /// any write a false "yes" would try there.
    /// </summary>
    public static bool IsPlainRead(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var first = FirstWords(sql, 1);
        if (first.Count == 0 || !(first[0].Equals("SELECT", StringComparison.OrdinalIgnoreCase) || first[0].Equals("WITH", StringComparison.OrdinalIgnoreCase))
            || Split(sql).Count != 1)
        {
            return false;
        }

        var i = 0;
        var last = ' ';
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsLetter(c) || c == '_')
            {
                var end = i;
                while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] is '_' or '$'))
                {
                    end++;
                }

                if (NotARead.Contains(sql[i..end]))
                {
                    return false;
                }

                i = end;
                last = 'w';
            }
            else
            {
                if (!char.IsWhiteSpace(c) && !IsComment(sql, i))
                {
                    last = c;
                }

                i = Skip(sql, i);
            }
        }

        return last != ';';
    }

    /// <summary>The first <paramref name="count"/> words of a statement, after blanks and comments.</summary>
    public static IReadOnlyList<string> FirstWords(string sql, int count)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var words = new List<string>();
        var i = 0;
        while (i < sql.Length && words.Count < count)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (IsComment(sql, i))
            {
                i = Skip(sql, i);
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var end = i;
                while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] is '_' or '$'))
                {
                    end++;
                }

                words.Add(sql[i..end]);
                i = end;
            }
            else
            {
                // Anything else (a quote, a parenthesis...) starts no keyword; stop at the first token that is not a word.
                words.Add(c.ToString());
                break;
            }
        }

        return words;
    }

    private static bool IsComment(string sql, int i) =>
        i + 1 < sql.Length && ((sql[i] == '-' && sql[i + 1] == '-') || (sql[i] == '/' && sql[i + 1] == '*'));

    /// <summary>The index after the token that starts at <paramref name="i"/>: a string, quoted name, comment or dollar-quoted body whole; else one character.</summary>
    private static int Skip(string sql, int i)
    {
        var c = sql[i];
        var wordBefore = i > 0 && (char.IsLetterOrDigit(sql[i - 1]) || sql[i - 1] is '_' or '$');
        if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
        {
            var end = sql.IndexOf('\n', i);
            return end < 0 ? sql.Length : end + 1;
        }

        if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
        {
            // PostgreSQL's block comments nest.
            var depth = 0;
            var j = i;
            while (j < sql.Length)
            {
                if (j + 1 < sql.Length && sql[j] == '/' && sql[j + 1] == '*')
                {
                    depth++;
                    j += 2;
                }
                else if (j + 1 < sql.Length && sql[j] == '*' && sql[j + 1] == '/')
                {
                    depth--;
                    j += 2;
                    if (depth == 0)
                    {
                        return j;
                    }
                }
                else
                {
                    j++;
                }
            }

            return sql.Length;
        }

        if (c is 'e' or 'E' && !wordBefore && i + 1 < sql.Length && sql[i + 1] == '\'')
        {
            return Quoted(sql, i + 1, '\'', backslashEscapes: true);
        }

        if (c == '\'')
        {
            return Quoted(sql, i, '\'', backslashEscapes: false);
        }

        if (c == '"')
        {
            return Quoted(sql, i, '"', backslashEscapes: false);
        }

        if (c == '$' && !wordBefore)
        {
            var end = i + 1;
            while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] == '_'))
            {
                end++;
            }

            if (end < sql.Length && sql[end] == '$' && (end == i + 1 || !char.IsAsciiDigit(sql[i + 1])))
            {
                var tag = sql[i..(end + 1)];
                var close = sql.IndexOf(tag, end + 1, StringComparison.Ordinal);
                return close < 0 ? sql.Length : close + tag.Length;
            }
        }

        if (char.IsLetterOrDigit(c) || c == '_')
        {
            // A whole word, so that a '$' or an 'E' inside it starts nothing.
            var end = i;
            while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] is '_' or '$'))
            {
                end++;
            }

            return end;
        }

        return i + 1;
    }

    private static int Quoted(string sql, int open, char quote, bool backslashEscapes)
    {
        var j = open + 1;
        while (j < sql.Length)
        {
            if (backslashEscapes && sql[j] == '\\')
            {
                j += 2;
                continue;
            }

            if (sql[j] == quote)
            {
                if (j + 1 < sql.Length && sql[j + 1] == quote)
                {
                    j += 2;
                    continue;
                }

                return j + 1;
            }

            j++;
        }

        return sql.Length;
    }
}
