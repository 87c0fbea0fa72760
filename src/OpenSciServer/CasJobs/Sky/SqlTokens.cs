using System.Globalization;

namespace OpenSciServer.CasJobs.Sky;

/// <summary>What a token of SQL text is, for the sky rewriters of both engines (each tokenizes its own dialect).</summary>
internal enum SqlTokenKind
{
    Word,
    Quoted,
    Number,
    String,
    Punct,
}

/// <summary>A token; whitespace and comments are not tokens (the text between tokens is copied as it is).</summary>
internal sealed record SqlToken(SqlTokenKind Kind, string Text, int Start)
{
    public int End => Start + Text.Length;

    /// <summary>The number (digits, a point, an exponent), word or single punctuation character at <paramref name="start"/>.</summary>
    public static SqlToken ReadPlain(string sql, int start)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var c = sql[start];
        var i = start;
        if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1])))
        {
            while (i < sql.Length && (char.IsAsciiDigit(sql[i]) || sql[i] == '.'))
            {
                i++;
            }

            if (i < sql.Length && sql[i] is 'e' or 'E' && i + 1 < sql.Length
                && (char.IsAsciiDigit(sql[i + 1]) || (sql[i + 1] is '+' or '-' && i + 2 < sql.Length && char.IsAsciiDigit(sql[i + 2]))))
            {
                i += 2;
                while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                {
                    i++;
                }
            }

            return new SqlToken(SqlTokenKind.Number, sql[start..i], start);
        }

        if (char.IsLetter(c) || c == '_')
        {
            while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$'))
            {
                i++;
            }

            return new SqlToken(SqlTokenKind.Word, sql[start..i], start);
        }

        return new SqlToken(SqlTokenKind.Punct, sql[start..(start + 1)], start);
    }
}

/// <summary>Arguments written as constants: numbers with + - * / and parentheses, as users write radii (<c>1 / 60.0</c>).</summary>
internal static class SqlConstant
{
    /// <summary>The value of the tokens <paramref name="from"/>..<paramref name="to"/>; null for anything but a constant expression.</summary>
    public static double? Of(IReadOnlyList<SqlToken> tokens, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var at = from;
        var value = Sum(tokens, ref at, to);
        return value is not null && at == to + 1 ? value : null;
    }

    private static double? Sum(IReadOnlyList<SqlToken> t, ref int at, int to)
    {
        var value = Product(t, ref at, to);
        while (value is not null && at <= to && t[at].Text is "+" or "-")
        {
            var op = t[at++].Text;
            var right = Product(t, ref at, to);
            value = right is null ? null : op == "+" ? value + right : value - right;
        }

        return value;
    }

    private static double? Product(IReadOnlyList<SqlToken> t, ref int at, int to)
    {
        var value = Unary(t, ref at, to);
        while (value is not null && at <= to && t[at].Text is "*" or "/")
        {
            var op = t[at++].Text;
            var right = Unary(t, ref at, to);
            value = right is null ? null : op == "*" ? value * right : value / right;
        }

        return value;
    }

    private static double? Unary(IReadOnlyList<SqlToken> t, ref int at, int to)
    {
        if (at > to)
        {
            return null;
        }

        var token = t[at];
        if (token.Text is "-" or "+")
        {
            at++;
            var inner = Unary(t, ref at, to);
            return token.Text == "-" ? -inner : inner;
        }

        if (token.Kind == SqlTokenKind.Number)
        {
            at++;
            return double.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : null;
        }

        if (token.Text == "(")
        {
            at++;
            var inner = Sum(t, ref at, to);
            if (inner is null || at > to || t[at].Text != ")")
            {
                return null;
            }

            at++;
            return inner;
        }

        return null;
    }
}
