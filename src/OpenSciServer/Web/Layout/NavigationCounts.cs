namespace OpenSciServer.Web.Layout;

/// <summary>
/// The layout counts what the navigation shows (open invitations) before the page's form handler runs.
/// A page whose action changed such a count calls <see cref="RefreshAsync"/>, so the same response
/// shows the new figure rather than the one from before the action.
/// </summary>
public sealed class NavigationCounts
{
    private Func<Task>? _refresh;

    /// <summary>The layout registers how it recounts and re-renders.</summary>
    public void OnRefresh(Func<Task> refresh) => _refresh = refresh;

    public Task RefreshAsync() => _refresh?.Invoke() ?? Task.CompletedTask;
}
