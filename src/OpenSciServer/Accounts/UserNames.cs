using System.Text;
using System.Text.RegularExpressions;

namespace OpenSciServer.Accounts;

/// <summary>
/// The rules for user names. A user name later becomes a folder name, a database schema name and a
/// Unix user name, so it is folded to one canonical form (Unicode NFKC, lower case) and restricted to
/// what all three accept without quoting: a letter, then letters, digits or underscores, 3 to 32 long.
/// </summary>
public static partial class UserNames
{
    public const int MinLength = 3;
    public const int MaxLength = 32;

    public const string RuleText =
        "3 to 32 characters: lower-case letters a-z, digits and underscores, starting with a letter. " +
        "Upper case is folded to lower case.";

    // Names of system accounts and of the platform's own roles and groups: a user holding one could
    // be mistaken for them in folder listings, schemas or `ps` output.
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "root", "daemon", "bin", "sys", "sync", "nobody", "nogroup", "postgres", "munge", "slurm",
        "www_data", "public", "system", "sciserver", "opensciserver", "idies", "anonymous", "guest",
        "mydb", "api", "racm", "jupyter", "admin", "administrator",
    };

    [GeneratedRegex("^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeName();

    /// <summary>The canonical form of what a user typed; does not validate.</summary>
    public static string Canonicalize(string? input)
    {
        if (string.IsNullOrWhiteSpace(input))
        {
            return string.Empty;
        }

        string folded;
        try
        {
            folded = input.Trim().Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            // Unpaired surrogates cannot be normalized; the validator rejects the raw text below.
            return input.Trim();
        }

        return folded.ToLowerInvariant();
    }

    /// <summary>Canonicalizes and validates a user name chosen for a new account.</summary>
    /// <returns>The canonical name, or an error message a person can act on.</returns>
    public static (string Name, string? Error) ValidateNew(string? input) => ValidateNew(input, allowReserved: false);

    /// <summary>As <see cref="ValidateNew(string?)"/>; the platform itself may take a reserved name (the first admin).</summary>
    internal static (string Name, string? Error) ValidateNew(string? input, bool allowReserved)
    {
        var name = Canonicalize(input);
        if (name.Length == 0)
        {
            return (name, "Choose a user name.");
        }

        if (name.Length < MinLength || name.Length > MaxLength)
        {
            return (name, $"A user name is {MinLength} to {MaxLength} characters long.");
        }

        if (!SafeName().IsMatch(name))
        {
            return (name, "A user name may hold only letters a-z, digits and underscores, and starts with a letter.");
        }

        if (!allowReserved && Reserved.Contains(name))
        {
            return (name, $"The name '{name}' is reserved; choose another.");
        }

        return (name, null);
    }
}
