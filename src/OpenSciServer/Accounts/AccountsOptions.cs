using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.Accounts;

public enum RegistrationMode
{
    /// <summary>Anyone may register and log in at once.</summary>
    Open,
    /// <summary>Anyone may register; an admin approves the account before it can log in.</summary>
    Approval,
    /// <summary>Only admins create accounts.</summary>
    Closed,
}

/// <summary>Accounts, passwords, tokens and login throttling (section "Accounts").</summary>
public sealed class AccountsOptions
{
    public const string SectionName = "Accounts";

    public RegistrationMode Registration { get; set; } = RegistrationMode.Open;

    /// <summary>Lifetime of a token issued by a password login (SciServer's default is 24 h).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00", ErrorMessage = "Accounts:LoginTokenLifetime must be between 1 minute and 365 days.")]
    public TimeSpan LoginTokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The longest expiry a user may give a personal access token.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "Accounts:MaxPersonalTokenLifetime must be between 1 and 3650 days.")]
    public TimeSpan MaxPersonalTokenLifetime { get; set; } = TimeSpan.FromDays(365);

    [Range(8, 128, ErrorMessage = "Accounts:MinPasswordLength must be between 8 and 128.")]
    public int MinPasswordLength { get; set; } = 10;

    /// <summary>Failed logins for one account within <see cref="FailureWindow"/> before it is throttled.</summary>
    [Range(1, 1000)]
    public int MaxFailuresPerAccount { get; set; } = 5;

    /// <summary>Failed logins from one address within <see cref="FailureWindow"/> before it is throttled.</summary>
    [Range(1, 100000)]
    public int MaxFailuresPerAddress { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00", ErrorMessage = "Accounts:FailureWindow must be between 10 seconds and 1 day.")]
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(15);
}
