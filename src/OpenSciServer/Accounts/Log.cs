namespace OpenSciServer.Accounts;

/// <summary>Account events, ids 1000-1099. Never log passwords or tokens.</summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "User {UserName} registered with status {Status}")]
    public static partial void UserRegistered(ILogger logger, string userName, UserStatus status);

    [LoggerMessage(1001, LogLevel.Information, "User {UserName} logged in from {Address}")]
    public static partial void LoginSucceeded(ILogger logger, string userName, string? address);

    [LoggerMessage(1002, LogLevel.Warning, "Failed login for {Login} from {Address}")]
    public static partial void LoginFailed(ILogger logger, string login, string? address);

    [LoggerMessage(1003, LogLevel.Warning, "Login for {Login} from {Address} throttled")]
    public static partial void LoginThrottled(ILogger logger, string login, string? address);

    [LoggerMessage(1004, LogLevel.Information, "User {UserName} changed their password")]
    public static partial void PasswordChanged(ILogger logger, string userName);

    [LoggerMessage(1005, LogLevel.Information, "User {UserName} is now {Status}")]
    public static partial void UserStatusChanged(ILogger logger, string userName, UserStatus status);

    [LoggerMessage(1006, LogLevel.Information, "User {UserName} admin role set to {IsAdmin}")]
    public static partial void AdminRoleChanged(ILogger logger, string userName, bool isAdmin);

    [LoggerMessage(1007, LogLevel.Information, "User {UserName} deleted")]
    public static partial void UserDeleted(ILogger logger, string userName);

    [LoggerMessage(1008, LogLevel.Warning, "Created the first admin account '{UserName}'")]
    public static partial void AdminCreated(ILogger logger, string userName);
}
