namespace OpenSciServer.Accounts;

/// <summary>
/// Features that keep something per user (default volumes, a MyDB) implement this to set it up when an
/// account is created. Registered with TryAddEnumerable; called after the account is saved.
/// </summary>
public interface IAccountLifecycle
{
    Task AccountCreatedAsync(User user, CancellationToken cancellationToken);
}
