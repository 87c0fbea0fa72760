using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace OpenSciServer.Accounts;

public static class AccountsSetup
{
    public const string AdminUserName = "admin";
    public const string AdminPasswordVariable = "OPENSCISERVER_ADMIN_PASSWORD";

    public static void AddAccounts(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<AccountsOptions>().BindConfiguration(AccountsOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IPasswordHasher<User>, PasswordHasher<User>>();
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddScoped<AccountService>();
        builder.Services.AddScoped<TokenService>();
        builder.AddPlatformAuthentication();
    }

    /// <summary>
    /// Creates the first admin account on first start: with OPENSCISERVER_ADMIN_PASSWORD when set,
    /// else with a random password printed once on the console (never to the logs).
    /// </summary>
    public static async Task SeedAdminAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var db = services.GetRequiredService<Infrastructure.PlatformDbContext>();
        // Only on a platform without any admin: a deleted 'admin' does not come back while others hold the role.
        if (await db.Users.AnyAsync(u => u.IsAdmin || u.UserName == AdminUserName))
        {
            return;
        }

        var configured = app.Configuration[AdminPasswordVariable];
        var password = string.IsNullOrEmpty(configured)
            ? RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20)
            : configured;
        var accounts = services.GetRequiredService<AccountService>();
        try
        {
            await accounts.CreateAsync(AdminUserName, "admin@localhost.localdomain", password, UserStatus.Active, isAdmin: true, allowReservedName: true, CancellationToken.None);
        }
        catch (Infrastructure.PlatformException e)
        {
            throw new InvalidOperationException($"Cannot create the first admin account: {e.Message} (check {AdminPasswordVariable}).", e);
        }

        Log.AdminCreated(services.GetRequiredService<ILogger<AccountService>>(), AdminUserName);
        if (string.IsNullOrEmpty(configured))
        {
            await Console.Out.WriteLineAsync($"""

                ==============================================================
                 First start: created the admin account.
                   user name: {AdminUserName}
                   password:  {password}
                 This password is shown once. Change it under Account after logging in,
                 or set {AdminPasswordVariable} before the first start.
                ==============================================================

                """);
        }
    }
}
