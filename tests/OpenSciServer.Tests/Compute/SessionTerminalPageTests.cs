using System.Net;

namespace OpenSciServer.Tests.Compute;

/// <summary>
/// The platform serves a session's terminal page itself (<c>/compute/sessions/{id}/terminals/{name}</c>,
/// in front of the proxy): only for the session's owner, like everything under the session's address.
/// </summary>
[Collection(SessionEndsWorld.Name)]
public sealed class SessionTerminalPageTests(ComputeWorld world)
{
    [Fact]
    public async Task TerminalPage_ForTheOwner_PointsAtTheSessionsTerminalSocket_OthersGet404_AnonymousGoToLogin()
    {
        var page = $"{Jupyter.Base(world.SessionId)}terminals/1";
        using var alice = world.Client(world.AliceToken);
        using var bob = world.Client(world.BobToken);
        using var nobody = world.Platform.CreateApiClient();

        var own = await alice.GetAsync(page);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        var html = await own.Content.ReadAsStringAsync();
        Assert.Contains($"data-socket=\"{Jupyter.Base(world.SessionId)}terminals/websocket/1\"", html, StringComparison.Ordinal);
        Assert.Contains("lib/xterm/xterm", html, StringComparison.Ordinal);

        // Someone else's session is not there; neither is a name Jupyter would not give a terminal.
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(page)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"{Jupyter.Base(world.SessionId)}terminals/a.b")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"{Jupyter.Base(Guid.NewGuid())}terminals/1")).StatusCode);
        var anonymous = await nobody.GetAsync(page);
        // (this client follows the redirect to the login page, which names the page to come back to)
        var landed = anonymous.StatusCode == HttpStatusCode.Redirect ? anonymous.Headers.Location! : anonymous.RequestMessage!.RequestUri!;
        Assert.Equal("/login?returnUrl=" + Uri.EscapeDataString(page), landed.PathAndQuery);

        // The shell behind it is the owner's, through the proxy's WebSocket.
        Assert.Equal(world.Alice, await Jupyter.RunAsync(world, world.AliceToken, world.SessionId, "whoami"));
    }
}
