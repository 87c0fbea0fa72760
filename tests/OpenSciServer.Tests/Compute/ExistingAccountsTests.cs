using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenSciServer.Compute;
using OpenSciServer.Infrastructure;
using OpenSciServer.Tests.Infrastructure;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// Uid mapping "Existing" (an HPC centre's accounts, e.g. from LDAP): a user's sessions and jobs run as the
/// machine's own account of the same name, never as a system account, and a user the machine does not
/// know is told so. The accounts here are real ones, made with useradd and removed after.
/// </summary>
public sealed class ExistingAccountsTests : IAsyncLifetime
{
    private readonly PlatformFactory _platform = new(DatabaseKind.Sqlite);
    private readonly string _account = "hpc" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _platform.Settings["Compute:UidMapping"] = UidMappings.Existing;
        await _platform.InitializeAsync();
        await RunAsync("/usr/sbin/useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--key", "UID_MIN=61000", "--key", "UID_MAX=61999", _account);
    }

    public async Task DisposeAsync()
    {
        await RunAsync("/usr/sbin/userdel", _account);
        await _platform.DisposeAsync();
    }

    [Fact]
    public async Task ForAsync_AnAccountOfTheSameName_IsTheUsersUidAndGroup()
    {
        var passwd = (await File.ReadAllLinesAsync("/etc/passwd")).Select(l => l.Split(':')).Single(f => f[0] == _account);

        var account = await AccountsAsync(a => a.ForAsync(Guid.NewGuid(), _account, CancellationToken.None));

        Assert.Equal(int.Parse(passwd[2], CultureInfo.InvariantCulture), account.Uid);
        Assert.Equal(int.Parse(passwd[3], CultureInfo.InvariantCulture), account.Gid);
        Assert.InRange(account.Uid, 61000, 61999);
    }

    [Fact]
    public async Task ForAsync_NoSuchAccount_IsAClear400()
    {
        var error = await Assert.ThrowsAsync<PlatformException>(() => AccountsAsync(a => a.ForAsync(Guid.NewGuid(), "nobodyhere" + Guid.NewGuid().ToString("N")[..6], CancellationToken.None)));

        Assert.Equal(ProblemKind.Invalid, error.Kind);
        Assert.Contains("has no Unix account", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("root")]
    [InlineData("daemon")]
    public async Task ForAsync_ASystemAccount_IsRefused(string name)
    {
        var error = await Assert.ThrowsAsync<PlatformException>(() => AccountsAsync(a => a.ForAsync(Guid.NewGuid(), name, CancellationToken.None)));

        Assert.Contains("system account", error.Message, StringComparison.Ordinal);
    }

    private async Task<UnixAccount> AccountsAsync(Func<UnixAccounts, Task<UnixAccount>> use)
    {
        await using var scope = _platform.Services.CreateAsyncScope();
        Assert.Equal(UidMappings.Existing, scope.ServiceProvider.GetRequiredService<IOptions<ComputeOptions>>().Value.UidMapping);
        return await use(scope.ServiceProvider.GetRequiredService<UnixAccounts>());
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
    }
}
