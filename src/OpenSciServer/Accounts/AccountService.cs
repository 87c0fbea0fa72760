using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Accounts;

/// <summary>An account as the API and the dashboard show it.</summary>
public sealed record UserResponse(Guid Id, string Username, string Email, string Status, bool IsAdmin, DateTimeOffset CreatedAt, DateTimeOffset? LastLoginAt)
{
    public static UserResponse From(User u) => new(u.Id, u.UserName, u.Email, u.Status.ToString(), u.IsAdmin, u.CreatedAt, u.LastLoginAt);
}

/// <summary>Creates, authenticates and administers accounts.</summary>
public sealed class AccountService(
    PlatformDbContext db,
    IPasswordHasher<User> hasher,
    LoginThrottle throttle,
    TimeProvider time,
    IOptionsMonitor<AccountsOptions> options,
    IServiceProvider services,
    ILogger<AccountService> logger)
{
    /// <summary>Longest password accepted: hashing is deliberately slow, so an unbounded one is a denial of service.</summary>
    public const int MaxPasswordLength = 512;

    private static readonly EmailAddressAttribute EmailCheck = new();

    private static readonly Lazy<(User User, string Hash)> TimingDecoy = new(() =>
    {
        var decoy = new User { UserName = "decoy", Email = "decoy@invalid", NormalizedEmail = "DECOY@INVALID", PasswordHash = "" };
        return (decoy, new PasswordHasher<User>().HashPassword(decoy, Guid.NewGuid().ToString()));
    });

    public RegistrationMode RegistrationMode => options.CurrentValue.Registration;

    public int MinPasswordLength => options.CurrentValue.MinPasswordLength;

    /// <summary>Self-service registration, as the configured mode allows.</summary>
    public async Task<User> RegisterAsync(string? username, string? email, string? password, CancellationToken cancellationToken)
    {
        var mode = options.CurrentValue.Registration;
        if (mode == RegistrationMode.Closed)
        {
            throw PlatformException.Forbidden("Registration is closed on this server: ask an administrator for an account.");
        }

        var status = mode == RegistrationMode.Open ? UserStatus.Active : UserStatus.PendingApproval;
        var user = await CreateAsync(username, email, password, status, isAdmin: false, cancellationToken);
        Log.UserRegistered(logger, user.UserName, user.Status);
        return user;
    }

    /// <summary>Creates an account directly (admins, and the first-start seeding).</summary>
    public Task<User> CreateAsync(string? username, string? email, string? password, UserStatus status, bool isAdmin, CancellationToken cancellationToken) =>
        CreateAsync(username, email, password, status, isAdmin, allowReservedName: false, cancellationToken);

    internal async Task<User> CreateAsync(string? username, string? email, string? password, UserStatus status, bool isAdmin, bool allowReservedName, CancellationToken cancellationToken)
    {
        var (name, nameError) = UserNames.ValidateNew(username, allowReservedName);
        if (nameError is not null)
        {
            throw PlatformException.Invalid(nameError, "username");
        }

        var mail = (email ?? string.Empty).Trim();
        if (mail.Length == 0 || mail.Length > 256 || !EmailCheck.IsValid(mail) || mail.Any(char.IsControl) || mail.Contains('<', StringComparison.Ordinal))
        {
            throw PlatformException.Invalid("Enter a valid email address, like name@example.org.", "email");
        }

        ValidatePassword(password, name, "password");

        var normalizedEmail = mail.ToUpperInvariant();
        if (await db.Users.AnyAsync(u => u.UserName == name, cancellationToken))
        {
            throw PlatformException.Conflict($"The user name '{name}' is taken.", "username");
        }

        if (await db.Users.AnyAsync(u => u.NormalizedEmail == normalizedEmail, cancellationToken))
        {
            throw PlatformException.Conflict("An account with this email address exists already.", "email");
        }

        var user = new User
        {
            Id = Guid.CreateVersion7(),
            UserName = name,
            Email = mail,
            NormalizedEmail = normalizedEmail,
            PasswordHash = string.Empty,
            Status = status,
            IsAdmin = isAdmin,
            CreatedAt = time.GetUtcNow(),
        };
        user.PasswordHash = hasher.HashPassword(user, password!);
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Two registrations raced past the checks above; the unique index decided.
            db.ChangeTracker.Clear();
            throw PlatformException.Conflict($"The user name '{name}' or this email address is taken.", "username");
        }

        // Resolved here, not injected: the features that listen depend on this service themselves.
        foreach (var listener in services.GetServices<IAccountLifecycle>())
        {
            await listener.AccountCreatedAsync(user, cancellationToken);
        }

        return user;
    }

    /// <summary>
    /// Checks a user name (or email) and password, throttled per account and per client address.
    /// Every failure gives the same message, so it does not tell which accounts exist.
    /// </summary>
    public async Task<User> AuthenticateAsync(string? login, string? password, string? clientAddress, CancellationToken cancellationToken)
    {
        var key = UserNames.Canonicalize(login);
        if (key.Length == 0 || string.IsNullOrEmpty(password))
        {
            throw new PlatformException(ProblemKind.Unauthorized, "Enter your user name and password.");
        }

        if (key.Length > 256)
        {
            throw new PlatformException(ProblemKind.Unauthorized, "Wrong user name or password.");
        }

        if (throttle.RetryAfterSeconds(key, clientAddress) is { } wait)
        {
            Log.LoginThrottled(logger, key, clientAddress);
            throw new PlatformException(ProblemKind.TooManyRequests, $"Too many failed logins. Try again in {wait} seconds.") { RetryAfterSeconds = wait };
        }

        var normalizedEmail = key.ToUpperInvariant();
        var user = await db.Users.FirstOrDefaultAsync(u => u.UserName == key || u.NormalizedEmail == normalizedEmail, cancellationToken);
        var verdict = PasswordVerificationResult.Failed;
        if (user is not null && password.Length <= MaxPasswordLength)
        {
            verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        }
        else
        {
            // Hash anyway, so an unknown name takes as long to refuse as a wrong password.
            hasher.VerifyHashedPassword(TimingDecoy.Value.User, TimingDecoy.Value.Hash, password[..Math.Min(password.Length, MaxPasswordLength)]);
        }

        if (user is null || verdict == PasswordVerificationResult.Failed)
        {
            throttle.RecordFailure(key, clientAddress);
            Log.LoginFailed(logger, key, clientAddress);
            throw new PlatformException(ProblemKind.Unauthorized, "Wrong user name or password.");
        }

        throttle.RecordSuccess(key);
        switch (user.Status)
        {
            case UserStatus.PendingApproval:
                throw new PlatformException(ProblemKind.Forbidden, "Your account waits for an administrator's approval.");
            case UserStatus.Disabled:
                throw new PlatformException(ProblemKind.Forbidden, "Your account is disabled. Contact an administrator.");
            case UserStatus.Active:
                break;
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
        }

        user.LastLoginAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        Log.LoginSucceeded(logger, user.UserName, clientAddress);
        return user;
    }

    /// <summary>
    /// Changes the password and ends every other password login (a stolen session ends with the old
    /// password); personal tokens and the login making the change stay valid.
    /// </summary>
    public async Task ChangePasswordAsync(Guid userId, string? currentPassword, string? newPassword, Guid? keepLoginTokenId, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken);
        if (string.IsNullOrEmpty(currentPassword) || currentPassword.Length > MaxPasswordLength
            || hasher.VerifyHashedPassword(user, user.PasswordHash, currentPassword) == PasswordVerificationResult.Failed)
        {
            throw PlatformException.Invalid("The current password is not right.", "currentPassword");
        }

        ValidatePassword(newPassword, user.UserName, "newPassword");
        user.PasswordHash = hasher.HashPassword(user, newPassword!);
        await db.SaveChangesAsync(cancellationToken);
        var now = time.GetUtcNow();
        await db.AccessTokens.Where(t => t.UserId == userId && t.Kind == TokenKind.Login && t.RevokedAt == null && t.Id != keepLoginTokenId)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), cancellationToken);
        Log.PasswordChanged(logger, user.UserName);
    }

    public async Task<User> FindAsync(Guid userId, CancellationToken cancellationToken) =>
        await db.Users.FirstOrDefaultAsync(u => u.Id == userId, cancellationToken)
        ?? throw PlatformException.NotFound("No such user.");

    public async Task<User?> FindByNameAsync(string? username, CancellationToken cancellationToken)
    {
        var name = UserNames.Canonicalize(username);
        return name.Length == 0 ? null : await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.UserName == name, cancellationToken);
    }

    /// <summary>User names by id, for listings that show who owns or holds what.</summary>
    public async Task<Dictionary<Guid, string>> NamesAsync(IEnumerable<Guid> ids, CancellationToken cancellationToken)
    {
        var list = ids.Distinct().ToList();
        return list.Count == 0 ? [] : await db.Users.AsNoTracking().Where(u => list.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.UserName, cancellationToken);
    }

    public async Task<User?> FindByNameOrEmailAsync(string? login, CancellationToken cancellationToken)
    {
        var key = UserNames.Canonicalize(login);
        if (key.Length == 0)
        {
            return null;
        }

        var email = key.ToUpperInvariant();
        return await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.UserName == key || u.NormalizedEmail == email, cancellationToken);
    }

    public async Task<IReadOnlyList<User>> ListAsync(CancellationToken cancellationToken) =>
        await db.Users.AsNoTracking().OrderBy(u => u.UserName).ToListAsync(cancellationToken);

    public Task<int> CountPendingAsync(CancellationToken cancellationToken) =>
        db.Users.CountAsync(u => u.Status == UserStatus.PendingApproval, cancellationToken);

    /// <summary>Approves an account that waits for approval.</summary>
    public async Task<User> ApproveAsync(Guid actorId, Guid userId, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken);
        if (user.Status != UserStatus.PendingApproval)
        {
            throw PlatformException.Conflict($"The account '{user.UserName}' is not waiting for approval.");
        }

        return await SetStatusAsync(actorId, userId, UserStatus.Active, cancellationToken);
    }

    /// <summary>Re-enables a disabled account (a pending one is approved instead).</summary>
    public async Task<User> EnableAsync(Guid actorId, Guid userId, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken);
        if (user.Status != UserStatus.Disabled)
        {
            throw PlatformException.Conflict($"The account '{user.UserName}' is not disabled.");
        }

        return await SetStatusAsync(actorId, userId, UserStatus.Active, cancellationToken);
    }

    /// <summary>Disables or re-enables an account. Disabling ends its tokens at once.</summary>
    public async Task<User> SetStatusAsync(Guid actorId, Guid userId, UserStatus status, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken);
        if (status != UserStatus.Active && user.Id == actorId)
        {
            throw PlatformException.Invalid("You cannot disable your own account.");
        }

        if (status != UserStatus.Active && user.IsAdmin)
        {
            await EnsureAnotherAdminAsync(user.Id, cancellationToken);
        }

        user.Status = status;
        await db.SaveChangesAsync(cancellationToken);
        if (status != UserStatus.Active)
        {
            await RevokeAllTokensAsync(user.Id, cancellationToken);
        }

        Log.UserStatusChanged(logger, user.UserName, status);
        return user;
    }

    public async Task<User> SetAdminAsync(Guid actorId, Guid userId, bool isAdmin, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken);
        if (!isAdmin && user.IsAdmin)
        {
            if (user.Id == actorId)
            {
                throw PlatformException.Invalid("You cannot take the admin role from yourself; ask another admin.");
            }

            await EnsureAnotherAdminAsync(user.Id, cancellationToken);
        }

        user.IsAdmin = isAdmin;
        await db.SaveChangesAsync(cancellationToken);
        Log.AdminRoleChanged(logger, user.UserName, isAdmin);
        return user;
    }

    public async Task DeleteAsync(Guid actorId, Guid userId, CancellationToken cancellationToken)
    {
        var user = await FindAsync(userId, cancellationToken);
        if (user.Id == actorId)
        {
            throw PlatformException.Invalid("You cannot delete your own account.");
        }

        if (user.IsAdmin)
        {
            await EnsureAnotherAdminAsync(user.Id, cancellationToken);
        }

        db.Users.Remove(user);
        await db.SaveChangesAsync(cancellationToken);
        Log.UserDeleted(logger, user.UserName);
    }

    private async Task RevokeAllTokensAsync(Guid userId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await db.AccessTokens.Where(t => t.UserId == userId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), cancellationToken);
    }

    private async Task EnsureAnotherAdminAsync(Guid userId, CancellationToken cancellationToken)
    {
        var others = await db.Users.CountAsync(u => u.IsAdmin && u.Status == UserStatus.Active && u.Id != userId, cancellationToken);
        if (others == 0)
        {
            throw PlatformException.Invalid("This is the last active admin; make someone else admin first.");
        }
    }

    private void ValidatePassword(string? password, string username, string field)
    {
        var min = options.CurrentValue.MinPasswordLength;
        if (string.IsNullOrEmpty(password) || password.Length < min)
        {
            throw PlatformException.Invalid($"A password has at least {min} characters.", field);
        }

        if (password.Length > MaxPasswordLength)
        {
            throw PlatformException.Invalid($"A password has at most {MaxPasswordLength} characters.", field);
        }

        if (string.Equals(password, username, StringComparison.OrdinalIgnoreCase))
        {
            throw PlatformException.Invalid("The password must not be your user name.", field);
        }
    }
}
