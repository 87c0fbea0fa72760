using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using OpenSciServer.CasJobs.Sky;
using OpenSciServer.Infrastructure;
using Kind = OpenSciServer.CasJobs.Sky.SqlTokenKind;
using Token = OpenSciServer.CasJobs.Sky.SqlToken;

namespace OpenSciServer.CasJobs.Engines.Postgres;

/// <summary>
/// The crossmatch table functions of the DuckDB engine, <c>xmatch('table1', 'table2', radius_arcsec)</c> and
/// <c>xmatch_nearest(...)</c>, for PostgreSQL. Their rows hold two whole rows of tables named at query time, which no
/// PostgreSQL function can declare, so the call is rewritten before the SQL reaches PostgreSQL into a subquery onto q3c:
/// all pairs as a join on <c>q3c_join</c> (through <c>oss_sky.xmatch</c>, which PostgreSQL inlines, so table2's q3c index
/// is used), the nearest as a <c>LATERAL ... ORDER BY distance LIMIT 1</c> per row of table1 (the q3c documentation's
/// nearest-neighbour query). The two rows are the table aliases selected as composite values <c>t1</c> and <c>t2</c>.
/// </summary>
/// <remarks>
/// PostgreSQL reads a field of a composite column as <c>(x.t1).id</c> where DuckDB takes <c>x.t1.id</c>: for the aliases
/// bound to a rewritten call the latter is rewritten to the former, so the same query runs on both engines.
/// Table names come as text literals and only plain names pass (<c>table</c>, <c>schema.table</c>, <c>mydb.table</c>; parts
/// unquoted, folded to lower case as PostgreSQL folds names, or in double quotes); they are written back quoted, never
/// pasted. <c>mydb.</c> is left for <see cref="PostgresText.WithMyDbSchema"/> to turn into the caller's schema.
/// Works on the text with its own tokenizer (strings, quoted names, comments and dollar quotes are skipped), like
/// <see cref="SkyRewriter"/> does for the DuckDB engine; a text with unbalanced parentheses is left to PostgreSQL.
/// </remarks>
public static partial class PostgresSkyRewriter
{
    private const string Xmatch = "xmatch";

    private const string Nearest = "xmatch_nearest";

    /// <summary>Generated aliases start with this (errors about them are told in the user's words).</summary>
    private const string AliasPrefix = "oss_";

    private const int MaxShownName = 80;

    private static readonly HashSet<string> NotAnAlias = new(StringComparer.OrdinalIgnoreCase)
    {
        "WHERE", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "ON", "USING", "GROUP", "ORDER", "LIMIT",
        "HAVING", "UNION", "EXCEPT", "INTERSECT", "WINDOW", "OFFSET", "FETCH", "TABLESAMPLE", "LATERAL", "RETURNING", "SELECT",
        "AS", "WITH", "FOR", "INTO", "WHEN", "THEN", "ELSE", "END",
    };

    /// <summary>Keywords that start a clause other than FROM: a table function met after one of these is not in a FROM list.</summary>
    private static readonly HashSet<string> OtherClause = new(StringComparer.OrdinalIgnoreCase)
    {
        "SELECT", "WHERE", "ON", "USING", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "WINDOW", "RETURNING", "SET", "VALUES",
        "UNION", "INTERSECT", "EXCEPT", "FETCH", "INTO", "CASE", "WHEN", "THEN", "ELSE",
    };

    /// <summary>
    /// Rewrites the crossmatch table functions in <paramref name="sql"/> for PostgreSQL and checks the sky functions'
    /// constant arguments (a 400 naming the function, in the DuckDB engine's words). Text without them comes back as it is.
    /// </summary>
    public static string Rewrite(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (sql.IndexOf(Xmatch, StringComparison.OrdinalIgnoreCase) < 0)
        {
            return sql;
        }

        var text = new SqlText(sql);
        if (!text.Balanced)
        {
            return sql;
        }

        var t = text.Tokens;
        var replacements = new List<(int Start, int End, string With)>();
        var aliases = new HashSet<string>(StringComparer.Ordinal);
        var calls = 0;
        for (var i = 0; i + 1 < t.Count; i++)
        {
            if (t[i].Kind != Kind.Word || t[i + 1].Text != "(" || (i > 0 && t[i - 1].Text == "."))
            {
                continue;
            }

            var function = t[i].Text.ToLowerInvariant();
            if (function is not (Xmatch or Nearest))
            {
                continue;
            }

            var close = text.Match[i + 1];
            var args = text.Arguments(i + 1, close);
            if (function == Xmatch && args.Count == 5)
            {
                // The join condition xmatch(ra1, dec1, ra2, dec2, r): PostgreSQL's own function; only its radius is checked.
                if (Constant(t, args[4]) is { } joinRadius)
                {
                    CheckRadius(function, joinRadius, allowZero: true);
                }

                continue;
            }

            if (function == Xmatch && args.Count != 3)
            {
                continue; // PostgreSQL names the functions there are
            }

            if (args.Count != 3)
            {
                throw Invalid($"{function} takes three arguments: the two tables' names in quotes and the radius in arcseconds, e.g. {function}('mydb.targets', 'sources', 1.0); got {args.Count}.");
            }

            if (!InFrom(text, i))
            {
                throw Invalid($"{function}('table1', 'table2', radius_arcsec) is a table: use it in FROM, e.g. SELECT x.t1.id, x.t2.id, x.distance_arcsec FROM {function}('mydb.targets', 'sources', 1.0) x.");
            }

            var table1 = TableName(function, "first", text, args[0]);
            var table2 = TableName(function, "second", text, args[1]);
            if (Constant(t, args[2]) is not { } radius)
            {
                throw Invalid($"{function}: the radius must be a number of arcseconds written in the query (e.g. {function}('mydb.targets', 'sources', 1.0)), not a column, a variable or a subquery.");
            }

            CheckRadius(function, radius, allowZero: false);
            calls++;
            var replacement = new StringBuilder(function == Xmatch ? AllPairs(table1, table2, radius, calls) : NearestPair(table1, table2, radius, calls));
            var after = close + 1 < t.Count ? t[close + 1] : null;
            if (after is not null && string.Equals(after.Text, "AS", StringComparison.OrdinalIgnoreCase) && close + 2 < t.Count && IsName(t[close + 2]))
            {
                aliases.Add(NameOf(t[close + 2]));
            }
            else if (after is not null && (after.Kind == Kind.Quoted || (after.Kind == Kind.Word && !NotAnAlias.Contains(after.Text))))
            {
                aliases.Add(NameOf(after));
            }
            else
            {
                // As DuckDB names a table function without an alias: after the function.
                replacement.Append(" AS ").Append(function);
                aliases.Add(function);
            }

            // The user's lines stay where they were (errors tell a line of the user's text).
            replacement.Append('\n', sql[t[i].Start..t[close].End].Count(c => c == '\n'));
            replacements.Add((t[i].Start, t[close].End, replacement.ToString()));
            i = close;
        }

        if (replacements.Count == 0)
        {
            return sql;
        }

        // x.t1.col (DuckDB's struct field) → (x.t1).col (PostgreSQL's composite field), for the aliases bound above.
        for (var i = 0; i + 4 < t.Count; i++)
        {
            if (IsName(t[i]) && aliases.Contains(NameOf(t[i])) && (i == 0 || t[i - 1].Text != ".")
                && t[i + 1].Text == "." && IsName(t[i + 2]) && NameOf(t[i + 2]) is "t1" or "t2"
                && t[i + 3].Text == "." && (IsName(t[i + 4]) || t[i + 4].Text == "*")
                && !replacements.Any(r => t[i].Start >= r.Start && t[i].Start < r.End))
            {
                replacements.Add((t[i].Start, t[i + 4].End, $"({t[i].Text}.{t[i + 2].Text}).{t[i + 4].Text}"));
                i += 4;
            }
        }

        var sb = new StringBuilder(sql.Length + (replacements.Count * 300));
        var at = 0;
        foreach (var (start, end, with) in replacements.OrderBy(r => r.Start))
        {
            sb.Append(sql, at, start - at).Append(with);
            at = end;
        }

        return sb.Append(sql, at, sql.Length - at).ToString();
    }

    /// <summary>
    /// PostgreSQL's error about a rewritten crossmatch told in the user's words (the table as they named it, the function),
    /// or null when the error is not about one. <paramref name="sent"/> and <paramref name="position"/>: the statement
    /// PostgreSQL read and where its error points in it.
    /// </summary>
    public static string? ErrorMessage(PostgresException error, string sent, int position, string? myDbSchema)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(sent);
        if (!sent.Contains(AliasPrefix + Xmatch, StringComparison.Ordinal))
        {
            return null;
        }

        if (error.SqlState == PostgresErrorCodes.UndefinedTable && position > 0 && position <= sent.Length
            && TableAt().Match(sent, position - 1) is { Success: true } table)
        {
            var name = UsersName(table.Groups["name"].Value, myDbSchema);
            var noMyDb = myDbSchema is null && name.StartsWith("mydb.", StringComparison.Ordinal) ? " Without logging in there is no MyDB: log in to use it." : "";
            return $"{table.Groups["function"].Value}: there is no table {name} (the {(table.Groups["which"].Value == "1" ? "first" : "second")} table).{noMyDb}";
        }

        if (error.SqlState == PostgresErrorCodes.UndefinedColumn && MissingColumn().Match(error.MessageText) is { Success: true } column)
        {
            var alias = column.Groups["alias"].Value;
            var named = Regex.Match(sent, @"(?<name>(?:""(?:[^""]|"""")*""|\w+)(?:\.(?:""(?:[^""]|"""")*""|\w+))?) AS " + alias + @"\b", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            var name = named.Success ? UsersName(named.Groups["name"].Value, myDbSchema) : "table" + column.Groups["which"].Value;
            return $"{column.Groups["function"].Value}: the table {name} has no column {column.Groups["column"].Value}; both tables need the columns ra and dec (degrees).";
        }

        if (error.SqlState == PostgresErrorCodes.UndefinedFunction && error.MessageText.Contains(PostgresEngine.SkySchema + ".", StringComparison.Ordinal))
        {
            var function = sent.Contains(AliasPrefix + Nearest, StringComparison.Ordinal) ? Nearest : Xmatch;
            return $"{function}: {error.MessageText}. The crossmatch needs the q3c extension in the catalog's database and numeric columns ra and dec in both tables.";
        }

        return null;
    }

    // "sky"."sources" AS oss_xmatch_1_t2, at the position PostgreSQL points at.
    [GeneratedRegex(@"\G(?<name>(?:""(?:[^""]|"""")*""|\w+)(?:\.(?:""(?:[^""]|"""")*""|\w+))?) AS oss_(?<function>xmatch(?:_nearest)?)_\d+_t(?<which>[12])\b", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex TableAt();

    [GeneratedRegex(@"column (?<alias>oss_(?<function>xmatch(?:_nearest)?)_\d+_t(?<which>[12]))\.(?<column>\w+) does not exist", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex MissingColumn();

    /// <summary>A table as the user named it: quotes that plain names do not need dropped, their MyDB schema called mydb again.</summary>
    private static string UsersName(string sentName, string? myDbSchema)
    {
        var parts = Regex.Matches(sentName, @"""(?:[^""]|"""")*""|\w+", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))
            .Select(m => m.Value.StartsWith('"') ? m.Value[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : m.Value)
            .Select(p => p == myDbSchema ? "mydb" : p)
            .Select(p => PlainName().IsMatch(p) && !p.Any(char.IsUpper) ? p : Sql.Identifier(p));
        return string.Join('.', parts);
    }

    private static string AllPairs(string table1, string table2, double radius, int call)
    {
        var a = $"{AliasPrefix}{Xmatch}_{call}_t1";
        var b = $"{AliasPrefix}{Xmatch}_{call}_t2";
        var s = PostgresEngine.SkySchema;
        return $"(SELECT {a} AS t1, {b} AS t2, {s}.angdist_arcsec({a}.ra, {a}.\"dec\", {b}.ra, {b}.\"dec\") AS distance_arcsec " +
            $"FROM {table1} AS {a} JOIN {table2} AS {b} ON {s}.xmatch({a}.ra, {a}.\"dec\", {b}.ra, {b}.\"dec\", {Format(radius)}))";
    }

    private static string NearestPair(string table1, string table2, double radius, int call)
    {
        var a = $"{AliasPrefix}{Nearest}_{call}_t1";
        var b = $"{AliasPrefix}{Nearest}_{call}_t2";
        var n = $"{AliasPrefix}{Nearest}_{call}_n";
        var s = PostgresEngine.SkySchema;
        return $"(SELECT {a} AS t1, {n}.t2, {n}.distance_arcsec FROM {table1} AS {a} CROSS JOIN LATERAL " +
            $"(SELECT {b} AS t2, {s}.angdist_arcsec({a}.ra, {a}.\"dec\", {b}.ra, {b}.\"dec\") AS distance_arcsec FROM {table2} AS {b} " +
            $"WHERE {s}.xmatch({a}.ra, {a}.\"dec\", {b}.ra, {b}.\"dec\", {Format(radius)}) ORDER BY 2 LIMIT 1) AS {n})";
    }

    private static void CheckRadius(string function, double radius, bool allowZero)
    {
        if (!(radius >= 0 && radius <= SkyFunctions.MaxMatchRadiusArcsec))
        {
            throw Invalid($"{function}: the radius must be between 0 and {SkyFunctions.MaxMatchRadiusArcsec:0} arcsec; got {Format(radius)}.");
        }

        if (radius == 0 && !allowZero)
        {
            // q3c_join keeps pairs closer than the radius: within 0 it finds nothing, not even a position's own twin.
            throw Invalid($"{function}: the radius must be between 0 and {SkyFunctions.MaxMatchRadiusArcsec:0} arcsec, and more than 0 in PostgreSQL (q3c matches pairs closer than the radius); got 0.");
        }
    }

    /// <summary>The table named by a text literal, as PostgreSQL SQL: each part quoted, <c>mydb.</c> kept for the caller's schema.</summary>
    private static string TableName(string function, string which, SqlText text, (int From, int To) arg)
    {
        var token = text.Tokens[arg.From];
        if (arg.From != arg.To || token.Kind != Kind.String || !token.Text.StartsWith('\''))
        {
            throw Invalid($"{function}: give the {which} table's name in quotes, e.g. {function}('mydb.targets', 'sources', 1.0); got {Shown(text.Slice(arg.From, arg.To))}.");
        }

        var name = token.Text[1..^1].Replace("''", "'", StringComparison.Ordinal);
        var parts = NameParts(name);
        if (parts is null || parts.Count is 0 or > 3 || (parts.Count == 3 && !string.Equals(parts[0], "shared", StringComparison.Ordinal)))
        {
            throw Invalid($"{function}: {Shown("'" + name + "'")} is not a table name; give the {which} table as 'table', 'schema.table' or 'mydb.table'.");
        }

        if (parts.Count == 3)
        {
            throw Invalid($"{function}: {Shown("'" + name + "'")} is a table shared from a DuckDB MyDB, which a PostgreSQL context cannot read; copy it into this database's MyDB first (docs/casjobs.md, MyDB with two engines).");
        }

        return parts.Count == 2 && parts[0] == "mydb"
            ? "mydb." + Sql.Identifier(parts[1])
            : string.Join('.', parts.Select(Sql.Identifier));
    }

    /// <summary>The parts of <c>a.b</c>: unquoted ones folded to lower case (as PostgreSQL folds names), quoted ones as written; null if not a plain name.</summary>
    private static List<string>? NameParts(string name)
    {
        var parts = new List<string>();
        var i = 0;
        while (true)
        {
            string part;
            if (i < name.Length && name[i] == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= name.Length)
                    {
                        return null;
                    }

                    if (name[i] == '"')
                    {
                        if (i + 1 < name.Length && name[i + 1] == '"')
                        {
                            sb.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    sb.Append(name[i++]);
                }

                part = sb.ToString();
                if (part.Length == 0 || part.Any(char.IsControl))
                {
                    return null;
                }
            }
            else
            {
                var start = i;
                while (i < name.Length && (char.IsAsciiLetterOrDigit(name[i]) || name[i] is '_' or '$'))
                {
                    i++;
                }

                part = name[start..i];
                if (!PlainName().IsMatch(part))
                {
                    return null;
                }

                part = part.ToLowerInvariant();
            }

            if (Encoding.UTF8.GetByteCount(part) > 63)
            {
                return null;
            }

            parts.Add(part);
            if (i == name.Length)
            {
                return parts;
            }

            if (name[i] != '.')
            {
                return null;
            }

            i++;
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_$]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainName();

    private static string Shown(string text) => text.Length <= MaxShownName ? text : text[..MaxShownName] + "…";

    /// <summary>Whether the call at <paramref name="at"/> is an item of a FROM list (after FROM, JOIN or a comma of one).</summary>
    private static bool InFrom(SqlText text, int at)
    {
        var t = text.Tokens;
        for (var j = at - 1; j >= 0; j--)
        {
            if (text.Depth[j] < text.Depth[at])
            {
                return false;
            }

            if (text.Depth[j] > text.Depth[at] || t[j].Kind != Kind.Word)
            {
                continue;
            }

            if (t[j].Text.Equals("FROM", StringComparison.OrdinalIgnoreCase) || t[j].Text.Equals("JOIN", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (OtherClause.Contains(t[j].Text))
            {
                return false;
            }
        }

        return false;
    }

    private static PlatformException Invalid(string message) => PlatformException.Invalid(message, "query");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static bool IsName(Token token) => token.Kind is Kind.Word or Kind.Quoted;

    /// <summary>A name as PostgreSQL reads it: unquoted folded to lower case, quoted as written.</summary>
    private static string NameOf(Token token) =>
        token.Kind == Kind.Quoted ? token.Text[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : token.Text.ToLowerInvariant();

    /// <summary>The value of an argument made of numbers, + - * / and parentheses; null for anything else.</summary>
    private static double? Constant(IReadOnlyList<Token> t, (int From, int To) arg) => SqlConstant.Of(t, arg.From, arg.To);

    /// <summary>The tokens of PostgreSQL SQL text with their parenthesis depth and matching parentheses.</summary>
    private sealed class SqlText
    {
        private readonly string _source;

        public SqlText(string sql)
        {
            _source = sql;
            Tokens = Tokenize(sql);
            Depth = new int[Tokens.Count];
            Match = new int[Tokens.Count];
            var open = new Stack<int>();
            for (var i = 0; i < Tokens.Count; i++)
            {
                Depth[i] = open.Count;
                if (Tokens[i].Text == "(")
                {
                    open.Push(i);
                }
                else if (Tokens[i].Text == ")")
                {
                    if (open.Count == 0)
                    {
                        Balanced = false;
                        return;
                    }

                    var o = open.Pop();
                    Match[o] = i;
                    Match[i] = o;
                    Depth[i] = open.Count;
                }
            }

            Balanced = open.Count == 0;
        }

        public List<Token> Tokens { get; }

        /// <summary>Open parentheses before each token (a parenthesis itself counts at the outer depth).</summary>
        public int[] Depth { get; }

        public int[] Match { get; }

        public bool Balanced { get; } = true;

        public string Slice(int from, int to) => _source[Tokens[from].Start..Tokens[to].End];

        /// <summary>The arguments between the parentheses at <paramref name="open"/> and <paramref name="close"/>, as token ranges.</summary>
        public List<(int From, int To)> Arguments(int open, int close)
        {
            var args = new List<(int, int)>();
            if (close == open + 1)
            {
                return args;
            }

            var start = open + 1;
            for (var i = open + 1; i < close; i++)
            {
                if (Depth[i] == Depth[open] + 1 && Tokens[i].Text == ",")
                {
                    args.Add((start, i - 1));
                    start = i + 1;
                }
            }

            args.Add((start, close - 1));
            return args.All(a => a.Item1 <= a.Item2) ? args : [];
        }

        private static List<Token> Tokenize(string sql)
        {
            var tokens = new List<Token>();
            var i = 0;
            while (i < sql.Length)
            {
                var c = sql[i];
                var start = i;
                if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
                {
                    while (i < sql.Length && sql[i] != '\n')
                    {
                        i++;
                    }
                }
                else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
                {
                    // PostgreSQL's block comments nest.
                    var depth = 0;
                    while (i < sql.Length)
                    {
                        if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
                        {
                            depth++;
                            i += 2;
                        }
                        else if (sql[i] == '*' && i + 1 < sql.Length && sql[i + 1] == '/')
                        {
                            i += 2;
                            if (--depth == 0)
                            {
                                break;
                            }
                        }
                        else
                        {
                            i++;
                        }
                    }
                }
                else if (c == '$' && DollarTag(sql, i) is { } tag)
                {
                    var end = sql.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                    i = end < 0 ? sql.Length : end + tag.Length;
                    tokens.Add(new Token(Kind.String, sql[start..i], start));
                }
                else if (c is '\'' or '"')
                {
                    // E'..' (backslash escapes): the E is a word token of its own right before the string, so never a plain literal below.
                    var escapes = c == '\'' && tokens.Count > 0 && tokens[^1].End == i && tokens[^1].Text is "E" or "e";
                    i++;
                    while (i < sql.Length)
                    {
                        if (escapes && sql[i] == '\\')
                        {
                            i += 2;
                            continue;
                        }

                        if (sql[i] == c)
                        {
                            if (i + 1 < sql.Length && sql[i + 1] == c)
                            {
                                i += 2;
                                continue;
                            }

                            i++;
                            break;
                        }

                        i++;
                    }

                    i = Math.Min(i, sql.Length);
                    tokens.Add(new Token(c == '"' ? Kind.Quoted : Kind.String, sql[start..i], start));
                }
                else
                {
                    // Numbers, words and punctuation read alike in both dialects.
                    var token = SqlToken.ReadPlain(sql, start);
                    tokens.Add(token);
                    i = token.End;
                }
            }

            return tokens;
        }

        // $$ or $tag$ opening a dollar-quoted string (not $1, a parameter).
        private static string? DollarTag(string sql, int i)
        {
            if (i > 0 && (char.IsLetterOrDigit(sql[i - 1]) || sql[i - 1] is '_' or '$'))
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
    }
}
