using System.Text.RegularExpressions;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.CasJobs.Contexts;

/// <summary>What an admin may give a catalog context: its name, description, time limit, table names, descriptions and units.</summary>
public static partial class ContextRules
{
    public const string NameRuleText = "Letters, digits and '_', 1 to 64 characters; MyDB is taken by everyone's own database.";

    public const int MinTimeoutSeconds = 1;

    public const int MaxTimeoutSeconds = 3600;

    public const int MaxDescriptionLength = 2000;

    public const int MaxUnitLength = 64;

    [GeneratedRegex("^[A-Za-z0-9_]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex TablePattern();

    public static string CheckName(string? name)
    {
        var trimmed = (name ?? "").Trim();
        if (!NamePattern().IsMatch(trimmed))
        {
            throw PlatformException.Invalid($"'{name}' is not a valid context name: {NameRuleText}", "name");
        }

        if (string.Equals(trimmed, QueryService.MyDbContext, StringComparison.OrdinalIgnoreCase))
        {
            throw PlatformException.Invalid("MyDB is the name of everyone's own database; choose another name for the context.", "name");
        }

        return trimmed;
    }

    /// <summary>The table an import creates: a letter or '_', then letters, digits or '_'.</summary>
    public static string CheckTable(string? table) =>
        table is not null && TablePattern().IsMatch(table) ? table
        : throw PlatformException.Invalid($"'{table}' is not a valid table name: a letter or '_', then letters, digits or '_', at most 128.", "table");

    /// <summary>A table name made from a file name (sources.csv → sources, 2mass-psc.parquet → _2mass_psc).</summary>
    public static string TableFromFileName(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        var stem = fileName.Split('.')[0];
        var chars = stem.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray();
        var name = new string(chars);
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            name = "_" + name;
        }

        return name.Length > 128 ? name[..128] : name;
    }

    /// <summary>Seconds between 1 and 3600; null keeps the platform's default.</summary>
    public static int? CheckTimeout(int? seconds) =>
        seconds is null or (>= MinTimeoutSeconds and <= MaxTimeoutSeconds) ? seconds
        : throw PlatformException.Invalid($"A quick-query time limit is between {MinTimeoutSeconds} and {MaxTimeoutSeconds} seconds (1 hour); leave it empty for the platform's default.", "timeoutSeconds");

    public static string CheckText(string? text, int maxLength, string field, string what)
    {
        var value = (text ?? "").Trim();
        if (value.Length > maxLength || value.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
        {
            throw PlatformException.Invalid($"{what} is at most {maxLength} characters, without control characters.", field);
        }

        return value;
    }
}
