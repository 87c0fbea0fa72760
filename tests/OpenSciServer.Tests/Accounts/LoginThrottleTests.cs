using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OpenSciServer.Accounts;

namespace OpenSciServer.Tests.Accounts;

public sealed class LoginThrottleTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly LoginThrottle _throttle;

    public LoginThrottleTests()
    {
        var options = new AccountsOptions { MaxFailuresPerAccount = 3, MaxFailuresPerAddress = 5, FailureWindow = TimeSpan.FromMinutes(10) };
        _throttle = new LoginThrottle(new StaticOptions(options), _time);
    }

    [Fact]
    public void RetryAfter_BelowTheLimit_IsNull()
    {
        _throttle.RecordFailure("alice", "192.0.2.1");
        _throttle.RecordFailure("alice", "192.0.2.1");

        Assert.Null(_throttle.RetryAfterSeconds("alice", "192.0.2.1"));
    }

    [Fact]
    public void RetryAfter_AtTheAccountLimit_UntilTheOldestFailureLeavesTheWindow()
    {
        _throttle.RecordFailure("alice", "192.0.2.1");
        _time.Advance(TimeSpan.FromMinutes(2));
        _throttle.RecordFailure("alice", "192.0.2.2");
        _throttle.RecordFailure("alice", "192.0.2.3");

        Assert.Equal(8 * 60, _throttle.RetryAfterSeconds("alice", "192.0.2.9"));
        Assert.Null(_throttle.RetryAfterSeconds("bob", "192.0.2.9"));

        _time.Advance(TimeSpan.FromMinutes(8));
        Assert.Null(_throttle.RetryAfterSeconds("alice", "192.0.2.9"));
    }

    [Fact]
    public void RetryAfter_AtTheAddressLimit_BlocksThatAddressForEveryAccount()
    {
        for (var i = 0; i < 5; i++)
        {
            _throttle.RecordFailure("user" + i, "198.51.100.1");
        }

        Assert.NotNull(_throttle.RetryAfterSeconds("somebody", "198.51.100.1"));
        Assert.Null(_throttle.RetryAfterSeconds("somebody", "198.51.100.2"));
    }

    [Fact]
    public void RecordSuccess_ClearsTheAccountButNotTheAddress()
    {
        for (var i = 0; i < 5; i++)
        {
            _throttle.RecordFailure("alice", "198.51.100.1");
        }

        _throttle.RecordSuccess("alice");

        Assert.Null(_throttle.RetryAfterSeconds("alice", null));
        Assert.NotNull(_throttle.RetryAfterSeconds("alice", "198.51.100.1"));
    }

    private sealed class StaticOptions(AccountsOptions value) : IOptionsMonitor<AccountsOptions>
    {
        public AccountsOptions CurrentValue => value;

        public AccountsOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<AccountsOptions, string?> listener) => null;
    }
}
