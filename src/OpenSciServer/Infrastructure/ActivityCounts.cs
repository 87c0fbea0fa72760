namespace OpenSciServer.Infrastructure;

/// <summary>The figures on the dashboard's Home, "Your Activities".</summary>
public static class ActivityKeys
{
    public const string UserVolumesOwned = "user-volumes-owned";
    public const string UserVolumesShared = "user-volumes-shared";
    public const string GroupInvitations = "group-invitations";
    public const string GroupsOwned = "groups-owned";
    public const string JobsRunning = "jobs-running";
    public const string JobsCompleted24h = "jobs-completed-24h";
}

/// <summary>
/// A feature that can count something for Home registers one of these (TryAddEnumerable). Home shows a
/// figure only where a feature answers, and an honest empty state where none does yet.
/// </summary>
public interface IActivityCount
{
    /// <summary>One of <see cref="ActivityKeys"/>.</summary>
    string Key { get; }

    Task<int> CountAsync(Guid userId, CancellationToken cancellationToken);
}
