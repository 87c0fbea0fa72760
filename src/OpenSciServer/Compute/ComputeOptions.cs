using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.Compute;

/// <summary>Interactive sessions: how users map to Unix accounts and how the local backend starts them (section "Compute").</summary>
public sealed class ComputeOptions : IValidatableObject
{
    public const string SectionName = "Compute";

    /// <summary>
    /// <c>Range</c>: the platform gives each user the next free uid of [UidRangeStart, UidRangeEnd] and
    /// remembers it (a laptop or a dedicated server). <c>Existing</c>: the user's name is an account of
    /// the machine (/etc/passwd, e.g. from LDAP at an HPC centre) and its uid is used.
    /// </summary>
    [RegularExpression("^(Range|Existing)$", ErrorMessage = "Compute:UidMapping must be 'Range' or 'Existing'.")]
    public string UidMapping { get; set; } = UidMappings.Range;

    [Range(1000, int.MaxValue - 1, ErrorMessage = "Compute:UidRangeStart must be at least 1000 (below are system accounts).")]
    public int UidRangeStart { get; set; } = 200_000;

    [Range(1000, int.MaxValue - 1)]
    public int UidRangeEnd { get; set; } = 299_999;

    [Required]
    public string BubblewrapPath { get; set; } = "/usr/bin/bwrap";

    [Required]
    public string SetprivPath { get; set; } = "/usr/bin/setpriv";

    /// <summary>How long a session may take from start until its Jupyter answers.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00", ErrorMessage = "Compute:StartTimeout must be between 5 seconds and 1 hour.")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How often running sessions are checked (processes gone, idle, past their lifetime).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Compute:CheckInterval must be between 1 second and 1 hour.")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The platform's address as seen from inside a session (for sciscript.json). Empty: Platform:PublicBaseUrl,
    /// else the address of the request that created the session.
    /// </summary>
    [RegularExpression(@"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$", ErrorMessage = "Compute:PlatformUrl must be an absolute http(s) URL, or empty.")]
    public string? PlatformUrl { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (UidRangeEnd < UidRangeStart)
        {
            yield return new ValidationResult("Compute:UidRangeEnd must not be below Compute:UidRangeStart.");
        }
    }
}

public static class UidMappings
{
    public const string Range = nameof(Range);
    public const string Existing = nameof(Existing);
}
