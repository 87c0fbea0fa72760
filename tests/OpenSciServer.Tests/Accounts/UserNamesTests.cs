using OpenSciServer.Accounts;

namespace OpenSciServer.Tests.Accounts;

public sealed class UserNamesTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("  Alice ", "alice")]
    [InlineData("ALICE_2", "alice_2")]
    [InlineData("\uFF41\uFF4C\uFF49\uFF43\uFF45", "alice")] // full-width letters fold under NFKC
    [InlineData("a\u0301bc", "\u00E1bc")] // combining accent composes, then fails the charset below
    public void Canonicalize_FoldsWidthAndCase(string input, string expected) =>
        Assert.Equal(expected, UserNames.Canonicalize(input));

    [Theory]
    [InlineData("bob")]
    [InlineData("jane_doe")]
    [InlineData("erosita2025")]
    [InlineData("abcdefghijklmnopqrstuvwxyz123456")]
    public void ValidateNew_SafeNames_Accepted(string name) =>
        Assert.Null(UserNames.ValidateNew(name).Error);

    [Theory]
    [InlineData("", "Choose a user name.")]
    [InlineData("ab", "3 to 32")]
    [InlineData("abcdefghijklmnopqrstuvwxyz1234567", "3 to 32")]
    [InlineData("9lives", "starts with a letter")]
    [InlineData("jane-doe", "only letters")]
    [InlineData("jane.doe", "only letters")]
    [InlineData("áb\u00E7", "only letters")]
    [InlineData("a\u0000bc", "only letters")]
    [InlineData("../x", "only letters")]
    [InlineData("root", "reserved")]
    [InlineData("Postgres", "reserved")]
    [InlineData("admin", "reserved")]
    public void ValidateNew_UnsafeNames_RejectedWithAReason(string name, string reason)
    {
        var (_, error) = UserNames.ValidateNew(name);

        Assert.NotNull(error);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateNew_UnpairedSurrogate_RejectedNotThrown() =>
        Assert.NotNull(UserNames.ValidateNew("ab\uD800c").Error);
}
