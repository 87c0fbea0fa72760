using System.Globalization;
using System.Text;
using OpenSciServer.CasJobs.Engines;
using OpenSciServer.Infrastructure;
using Kind = OpenSciServer.CasJobs.Sky.SqlTokenKind;
using Token = OpenSciServer.CasJobs.Sky.SqlToken;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>
/// Makes sky queries use a catalog's HEALPix index. DuckDB cannot compute which index ranges a cone covers, so the
/// platform does it before the query runs: a call <c>cone(ra, dec, ra0, dec0, r)</c> with a constant centre and radius on
/// a sky-indexed table becomes <c>(&lt;index ranges of the disc&gt; AND cone(ra, dec, ra0, dec0, r))</c>, and
/// <c>fGetNearbyObjEq(ra0, dec0, r_arcmin)</c> in FROM becomes the catalog's rows within the radius read the same way.
/// The ranges only let DuckDB skip row groups; the exact distance test still decides, so the answer is the same as without.
/// </summary>
/// <remarks>
/// It works on the SQL text with its own small tokenizer rather than on the T-SQL parser's tree: <c>WHERE cone(...)</c> (a
/// boolean function as a condition) is not T-SQL, and DuckDB SQL (LIMIT, ::) is not either, so both reach it as text.
/// Which table a column belongs to is found in the FROM clause of the innermost SELECT around the call: a qualified column
/// (<c>s.ra</c>) by its table's alias or name, an unqualified one only when that FROM names one table. When in doubt
/// (a subquery, a CTE of the same name, a column that is not the index's ra and dec) it leaves the call alone: the macro
/// alone gives the same rows, reading the whole table.
/// </remarks>
public static class SkyRewriter
{
    private static readonly HashSet<string> NotAnAlias = new(StringComparer.OrdinalIgnoreCase)
    {
        "WHERE", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "ON", "USING", "GROUP", "ORDER", "LIMIT",
        "HAVING", "UNION", "EXCEPT", "INTERSECT", "QUALIFY", "WINDOW", "SEMI", "ANTI", "ASOF", "POSITIONAL", "OFFSET", "FETCH",
        "TABLESAMPLE", "SAMPLE", "PIVOT", "UNPIVOT", "LATERAL", "RETURNING", "SELECT", "AS", "WITH",
    };

    private static readonly HashSet<string> EndOfFrom = new(StringComparer.OrdinalIgnoreCase)
    {
        "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "QUALIFY", "WINDOW", "UNION", "EXCEPT", "INTERSECT", "SELECT", "OFFSET", "RETURNING",
    };

    /// <summary>
    /// Checks the constant arguments of the sky functions in <paramref name="sql"/> (a clear error naming the function) and,
    /// when <paramref name="sky"/> is known, rewrites calls on its sky-indexed tables to use the index. With a null
    /// <paramref name="sky"/> (the context is not known yet) it only checks.
    /// </summary>
    public static string Rewrite(string sql, SkyCatalog? sky)
    {
        ArgumentNullException.ThrowIfNull(sql);
        if (sql.IndexOf("cone", StringComparison.OrdinalIgnoreCase) < 0 && sql.IndexOf("fGetNearbyObjEq", StringComparison.OrdinalIgnoreCase) < 0)
        {
            return sql;
        }

        var text = new Text(sql);
        if (!text.Balanced)
        {
            return sql; // DuckDB says what is wrong with it
        }

        var replacements = new List<(int From, int To, string With)>();
        var t = text.Tokens;
        for (var i = 0; i + 1 < t.Count; i++)
        {
            if (t[i].Kind != Kind.Word || t[i + 1].Text != "(" || (replacements.Count > 0 && i <= replacements[^1].To))
            {
                continue;
            }

            var close = text.Match[i + 1];
            var qualified = i > 0 && t[i - 1].Text == ".";
            if (string.Equals(t[i].Text, "cone", StringComparison.OrdinalIgnoreCase) && !qualified)
            {
                if (Cone(text, i, close, sky) is { } with)
                {
                    replacements.Add((i, close, with));
                }
            }
            else if (string.Equals(t[i].Text, "fGetNearbyObjEq", StringComparison.OrdinalIgnoreCase)
                     && (!qualified || (i > 1 && string.Equals(Unquote(t[i - 2]), "dbo", StringComparison.OrdinalIgnoreCase))))
            {
                var with = Nearby(text, i, close, sky);
                if (with is not null)
                {
                    replacements.Add((qualified ? i - 2 : i, close, with));
                }
            }
        }

        if (replacements.Count == 0)
        {
            return sql;
        }

        var sb = new StringBuilder(sql.Length + (replacements.Count * 400));
        var at = 0;
        foreach (var (from, to, with) in replacements)
        {
            sb.Append(sql, at, t[from].Start - at).Append(with);
            at = t[to].Start + t[to].Text.Length;
        }

        return sb.Append(sql, at, sql.Length - at).ToString();
    }

    private static string? Cone(Text text, int name, int close, SkyCatalog? sky)
    {
        var args = text.Arguments(name + 1, close);
        if (args.Count != 5)
        {
            return null; // DuckDB names the macro's parameters
        }

        if (Constant(text, args[2]) is not { } ra0 || Constant(text, args[3]) is not { } dec0 || Constant(text, args[4]) is not { } radius)
        {
            return null; // a centre from a column (a join): the macro alone, exact but without the index
        }

        if (!(radius >= 0 && radius <= SkyFunctions.MaxConeRadiusDeg))
        {
            throw Invalid($"cone: the radius must be between 0 and {SkyFunctions.MaxConeRadiusDeg:0} degrees; got {Format(radius)}.");
        }

        CheckCentre("cone", ra0, dec0);
        if (sky is null || Column(text, args[0]) is not { } ra || Column(text, args[1]) is not { } dec
            || !string.Equals(ra.Qualifier, dec.Qualifier, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (Resolve(text, name, ra.Qualifier, sky) is not { } found
            || !string.Equals(found.Index.Ra, ra.Name, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(found.Index.Dec, dec.Name, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var column = (ra.QualifierText ?? found.Qualifier) + "." + Sql.Identifier(found.Index.Column);
        var predicate = SkyRanges.Predicate(column, SkyRanges.Cover(found.Index.Order, ra0, dec0, radius));
        return "(" + predicate + " AND " + text.Slice(name, close) + ")";
    }

    private static string? Nearby(Text text, int name, int close, SkyCatalog? sky)
    {
        var args = text.Arguments(name + 1, close);
        if (args.Count != 3)
        {
            throw Invalid($"fGetNearbyObjEq takes three arguments: right ascension and declination of the centre in degrees, and the radius in arcminutes; got {args.Count}.");
        }

        if (Constant(text, args[0]) is not { } ra0 || Constant(text, args[1]) is not { } dec0 || Constant(text, args[2]) is not { } radius)
        {
            throw Invalid("fGetNearbyObjEq: the centre and the radius must be numbers written in the query (e.g. fGetNearbyObjEq(185.0, -0.5, 1.5)), not columns or variables; " +
                "to search around many positions use xmatch or cone(ra, dec, ra0, dec0, radius_deg) in a join.");
        }

        if (!(radius >= 0 && radius <= SkyFunctions.MaxConeRadiusDeg * 60))
        {
            throw Invalid($"fGetNearbyObjEq: the radius must be between 0 and {SkyFunctions.MaxConeRadiusDeg * 60:0} arcminutes; got {Format(radius)}.");
        }

        CheckCentre("fGetNearbyObjEq", ra0, dec0);
        if (sky is null)
        {
            return null;
        }

        if (sky.Tables.Count != 1)
        {
            throw Invalid(SkyFunctions.NoSkyTable(sky));
        }

        var table = sky.Tables.First();
        var ra = Sql.Identifier(table.Ra);
        var dec = Sql.Identifier(table.Dec);
        var centre = $"{Format(ra0)}, {Format(dec0)}";
        var sb = new StringBuilder("(SELECT *").Append(SkyFunctions.ObjIdColumn(table))
            .Append(CultureInfo.InvariantCulture, $", angdist({ra}, {dec}, {centre}) * 60 AS distance FROM {DuckDbSandbox.ContextAlias}.main.{Sql.Identifier(table.Table)} WHERE ")
            .Append(SkyRanges.Predicate(Sql.Identifier(table.Column), SkyRanges.Cover(table.Order, ra0, dec0, radius / 60)))
            .Append(CultureInfo.InvariantCulture, $" AND cone({ra}, {dec}, {centre}, {Format(radius)} / 60.0))");
        var next = close + 1 < text.Tokens.Count ? text.Tokens[close + 1] : null;
        if (next is null || next.Kind == Kind.Punct || (next.Kind == Kind.Word && NotAnAlias.Contains(next.Text) && !string.Equals(next.Text, "AS", StringComparison.OrdinalIgnoreCase)))
        {
            sb.Append(" AS fGetNearbyObjEq");
        }

        return sb.ToString();
    }

    private static void CheckCentre(string function, double ra0, double dec0)
    {
        if (!double.IsFinite(ra0))
        {
            throw Invalid($"{function}: the centre's right ascension must be a finite number of degrees.");
        }

        if (!(dec0 >= -90 && dec0 <= 90))
        {
            throw Invalid($"{function}: the centre's declination must be between -90 and 90 degrees; got {Format(dec0)}.");
        }
    }

    private static PlatformException Invalid(string message) => PlatformException.Invalid(message, "query");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A column reference <c>name</c> or <c>qualifier.name</c>.</summary>
    private sealed record ColumnRef(string? Qualifier, string? QualifierText, string Name);

    private static ColumnRef? Column(Text text, (int From, int To) arg)
    {
        var t = text.Tokens;
        var (from, to) = arg;
        if (to == from && IsName(t[from]))
        {
            return new ColumnRef(null, null, Unquote(t[from]));
        }

        return to == from + 2 && IsName(t[from]) && t[from + 1].Text == "." && IsName(t[to])
            ? new ColumnRef(Unquote(t[from]), t[from].Text, Unquote(t[to]))
            : null;
    }

    /// <summary>The sky table the column qualifier (or, unqualified, the only table) of the SELECT around the call names.</summary>
    private static (SkyIndex Index, string Qualifier)? Resolve(Text text, int call, string? qualifier, SkyCatalog sky)
    {
        var (from, to) = text.ScopeOf(call);
        var depth = text.Depth[from];
        var tables = new List<(List<string>? Parts, Token? Alias)>();
        var t = text.Tokens;
        var inFrom = false;
        for (var i = from; i <= to; i++)
        {
            if (text.Depth[i] != depth)
            {
                continue;
            }

            var word = t[i].Kind == Kind.Word ? t[i].Text : null;
            if (word is not null && EndOfFrom.Contains(word))
            {
                inFrom = false;
            }

            if (string.Equals(word, "FROM", StringComparison.OrdinalIgnoreCase) || (inFrom && (string.Equals(word, "JOIN", StringComparison.OrdinalIgnoreCase) || t[i].Text == ",")))
            {
                inFrom = true;
                var (parts, alias, next) = TableItem(text, i + 1, to);
                tables.Add((parts, alias));
                i = next - 1;
            }
        }

        var ctes = text.CteNames();
        var matches = tables.Where(r => qualifier is null
                ? tables.Count == 1
                : r.Alias is { } alias ? string.Equals(Unquote(alias), qualifier, StringComparison.OrdinalIgnoreCase)
                : r.Parts is { Count: > 0 } parts && string.Equals(parts[^1], qualifier, StringComparison.OrdinalIgnoreCase))
            .ToList();
        if (matches is not [var match] || match.Parts is not { } name || (name.Count == 1 && ctes.Contains(name[0])))
        {
            return null;
        }

        var inContext = name.Count switch
        {
            1 => true,
            2 => string.Equals(name[0], DuckDbSandbox.ContextAlias, StringComparison.OrdinalIgnoreCase),
            3 => string.Equals(name[0], DuckDbSandbox.ContextAlias, StringComparison.OrdinalIgnoreCase) && string.Equals(name[1], "main", StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
        return inContext && sky.Find(name[^1]) is { } index
            ? (index, match.Alias?.Text ?? Sql.Identifier(name[^1]))
            : null;
    }

    /// <summary>One item of a FROM list at token <paramref name="at"/>: a table name (its parts) or something else (null), its alias, and where it ends.</summary>
    private static (List<string>? Parts, Token? Alias, int Next) TableItem(Text text, int at, int to)
    {
        var t = text.Tokens;
        if (at > to)
        {
            return (null, null, at);
        }

        List<string>? parts = null;
        int next;
        if (t[at].Text == "(")
        {
            next = text.Match[at] + 1;
        }
        else if (IsName(t[at]) && !NotAnAlias.Contains(t[at].Text))
        {
            parts = [Unquote(t[at])];
            next = at + 1;
            while (next + 1 <= to && t[next].Text == "." && IsName(t[next + 1]))
            {
                parts.Add(Unquote(t[next + 1]));
                next += 2;
            }

            if (next <= to && t[next].Text == "(")
            {
                parts = null; // a table function
                next = text.Match[next] + 1;
            }
        }
        else
        {
            return (null, null, at);
        }

        Token? alias = null;
        if (next <= to && t[next].Kind == Kind.Word && string.Equals(t[next].Text, "AS", StringComparison.OrdinalIgnoreCase) && next + 1 <= to && IsName(t[next + 1]))
        {
            alias = t[next + 1];
            next += 2;
        }
        else if (next <= to && (t[next].Kind == Kind.Quoted || (t[next].Kind == Kind.Word && !NotAnAlias.Contains(t[next].Text))))
        {
            alias = t[next];
            next++;
        }

        return (parts, alias, next);
    }

    private static bool IsName(Token token) => token.Kind is Kind.Word or Kind.Quoted;

    private static string Unquote(Token token) =>
        token.Kind == Kind.Quoted ? token.Text[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : token.Text;

    /// <summary>The value of an argument made of numbers, + - * / and parentheses; null for anything else.</summary>
    private static double? Constant(Text text, (int From, int To) arg) => SqlConstant.Of(text.Tokens, arg.From, arg.To);

    /// <summary>The tokens of a SQL text with their parenthesis depth and matching parentheses.</summary>
    private sealed class Text
    {
        public Text(string sql)
        {
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

        private HashSet<string>? _ctes;

        public string Slice(int from, int to) => _source[Tokens[from].Start..(Tokens[to].Start + Tokens[to].Text.Length)];

        private string _source = "";

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
            return args.Where(a => a.Item1 <= a.Item2).Count() == args.Count ? args : [];
        }

        /// <summary>The tokens of the innermost SELECT (a parenthesised query, else the statement) around token <paramref name="at"/>.</summary>
        public (int From, int To) ScopeOf(int at)
        {
            for (var i = at - 1; i >= 0; i--)
            {
                if (Tokens[i].Text == "(" && Match[i] > at && i + 1 < Tokens.Count
                    && Tokens[i + 1].Kind == Kind.Word && Tokens[i + 1].Text.ToUpperInvariant() is "SELECT" or "WITH" or "FROM")
                {
                    return (i + 1, Match[i] - 1);
                }
            }

            var from = at;
            while (from > 0 && !(Depth[from - 1] == 0 && Tokens[from - 1].Text == ";"))
            {
                from--;
            }

            var to = at;
            while (to + 1 < Tokens.Count && !(Depth[to + 1] == 0 && Tokens[to + 1].Text == ";"))
            {
                to++;
            }

            return (from, to);
        }

        /// <summary>Names defined as <c>name AS (</c> (common table expressions), which hide tables of the same name.</summary>
        public HashSet<string> CteNames()
        {
            if (_ctes is not null)
            {
                return _ctes;
            }

            _ctes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i + 2 < Tokens.Count; i++)
            {
                if (IsName(Tokens[i]) && string.Equals(Tokens[i + 1].Text, "AS", StringComparison.OrdinalIgnoreCase)
                    && (Tokens[i + 2].Text == "(" || string.Equals(Tokens[i + 2].Text, "MATERIALIZED", StringComparison.OrdinalIgnoreCase)
                        || string.Equals(Tokens[i + 2].Text, "NOT", StringComparison.OrdinalIgnoreCase)))
                {
                    _ctes.Add(Unquote(Tokens[i]));
                }
            }

            return _ctes;
        }

        private List<Token> Tokenize(string sql)
        {
            _source = sql;
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
                    var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                    i = end < 0 ? sql.Length : end + 2;
                }
                else if (c is '\'' or '"')
                {
                    i++;
                    while (i < sql.Length)
                    {
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
    }
}
