using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace OpenSciServer.Tests.Infrastructure;

/// <summary>A free TCP port on the loopback interface, for servers the tests start.</summary>
public static class TestPorts
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Checks on SciServer's error JSON, <c>{"status":"error","error":"..."}</c>.</summary>
public static class SciServerAssert
{
    /// <summary>Asserts the status and an error message a user can act on; returns the message.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string expected)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        Assert.Equal("error", body.RootElement.GetProperty("status").GetString());
        var message = body.RootElement.GetProperty("error").GetString()!;
        Assert.Contains(expected, message, StringComparison.Ordinal);
        return message;
    }
}
