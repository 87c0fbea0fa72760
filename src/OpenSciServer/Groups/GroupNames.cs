using System.Text;

namespace OpenSciServer.Groups;

/// <summary>Group names are for people: letters, digits, spaces and a little punctuation, no markup.</summary>
public static class GroupNames
{
    public const int MinLength = 3;
    public const int MaxLength = 64;
    public const int MaxDescriptionLength = 2000;

    public const string RuleText = "3 to 64 characters: letters, digits, spaces and . _ - ( ) +";

    /// <summary>The names of the platform's system groups.</summary>
    public const string Public = "public";
    public const string Admin = "admin";

    public static string Normalize(string name) => name.Normalize(NormalizationForm.FormKC).ToLowerInvariant();

    /// <summary>Trims and checks a group name; returns the name or an error message.</summary>
    public static (string Name, string? Error) Validate(string? input)
    {
        var name = (input ?? "").Trim();
        try
        {
            name = name.Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return (name, "The name holds characters that are not valid text.");
        }

        if (name.Length < MinLength || name.Length > MaxLength)
        {
            return (name, $"A group name is {MinLength} to {MaxLength} characters long.");
        }

        foreach (var c in name)
        {
            if (!(char.IsLetterOrDigit(c) || c is ' ' or '.' or '_' or '-' or '(' or ')' or '+'))
            {
                return (name, char.IsControl(c)
                    ? "A group name cannot hold control characters."
                    : $"A group name cannot hold '{c}'. Allowed: {RuleText}.");
            }
        }

        if (name.Contains("  ", StringComparison.Ordinal))
        {
            return (name, "A group name cannot hold two spaces in a row.");
        }

        var normalized = Normalize(name);
        if (normalized is Public or Admin)
        {
            return (name, $"'{name}' is the name of a system group.");
        }

        return (name, null);
    }

    /// <summary>Trims and checks a description. Markup is kept as text: pages always show it escaped.</summary>
    public static (string Description, string? Error) ValidateDescription(string? input)
    {
        var text = (input ?? "").Trim();
        if (text.Length > MaxDescriptionLength)
        {
            return (text, $"A description is at most {MaxDescriptionLength} characters.");
        }

        if (text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
        {
            return (text, "A description cannot hold control characters.");
        }

        return (text, null);
    }
}
