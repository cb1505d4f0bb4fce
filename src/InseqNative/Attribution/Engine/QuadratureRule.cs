namespace InseqNative.Attribution;

/// <summary>Integration rules for integrated gradients, with Captum's names and node/weight conventions on [0, 1].</summary>
public enum IntegrationRule
{
    /// <summary>Gauss–Legendre nodes and weights (Captum's default, "gausslegendre").</summary>
    GaussLegendre,
    RiemannLeft,
    RiemannRight,
    RiemannMiddle,
    RiemannTrapezoid,
}

public static class QuadratureRule
{
    public static IntegrationRule Parse(string name) => name switch
    {
        "gausslegendre" => IntegrationRule.GaussLegendre,
        "riemann_left" => IntegrationRule.RiemannLeft,
        "riemann_right" => IntegrationRule.RiemannRight,
        "riemann_middle" => IntegrationRule.RiemannMiddle,
        "riemann_trapezoid" => IntegrationRule.RiemannTrapezoid,
        _ => throw new InvalidInputException(
            $"unknown integration method '{name}' (known: gausslegendre, riemann_left, riemann_right, riemann_middle, riemann_trapezoid)"),
    };

    public static string Name(IntegrationRule rule) => rule switch
    {
        IntegrationRule.GaussLegendre => "gausslegendre",
        IntegrationRule.RiemannLeft => "riemann_left",
        IntegrationRule.RiemannRight => "riemann_right",
        IntegrationRule.RiemannMiddle => "riemann_middle",
        _ => "riemann_trapezoid",
    };

    /// <summary>Interpolation coefficients α_i ∈ [0, 1] and weights w_i with Σ w_i f(α_i) ≈ ∫₀¹ f.</summary>
    public static (double[] Alphas, double[] Weights) NodesAndWeights(IntegrationRule rule, int n)
    {
        if (n < 1) throw new InvalidInputException($"n_steps must be at least 1, got {n}");
        var a = new double[n];
        var w = new double[n];
        switch (rule)
        {
            case IntegrationRule.GaussLegendre:
                GaussLegendre(n, a, w);
                break;
            case IntegrationRule.RiemannLeft:
                for (var i = 0; i < n; i++) { a[i] = n == 1 ? 0 : i * (1 - 1.0 / n) / (n - 1); w[i] = 1.0 / n; }
                break;
            case IntegrationRule.RiemannRight:
                for (var i = 0; i < n; i++) { a[i] = n == 1 ? 1 : 1.0 / n + i * (1 - 1.0 / n) / (n - 1); w[i] = 1.0 / n; }
                break;
            case IntegrationRule.RiemannMiddle:
                for (var i = 0; i < n; i++) { a[i] = (i + 0.5) / n; w[i] = 1.0 / n; }
                break;
            case IntegrationRule.RiemannTrapezoid:
                if (n < 2) throw new InvalidInputException("riemann_trapezoid needs n_steps >= 2");
                for (var i = 0; i < n; i++)
                {
                    a[i] = (double)i / (n - 1);
                    w[i] = (i == 0 || i == n - 1) ? 0.5 / (n - 1) : 1.0 / (n - 1);
                }
                break;
        }
        return (a, w);
    }

    /// <summary>Roots of the Legendre polynomial P_n by Newton's method, mapped from [−1, 1] to [0, 1]
    /// (nodes ascending, as numpy's leggauss).</summary>
    static void GaussLegendre(int n, double[] alphas, double[] weights)
    {
        for (var i = 0; i < n; i++)
        {
            var x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)); // initial guess, descending roots
            double dp = 0;
            for (var iter = 0; iter < 100; iter++)
            {
                double p0 = 1, p1 = x;
                for (var k = 2; k <= n; k++) { var pk = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k; p0 = p1; p1 = pk; }
                if (n == 1) { p1 = x; p0 = 1; }
                dp = n * (x * p1 - p0) / (x * x - 1);
                var dx = p1 / dp;
                x -= dx;
                if (Math.Abs(dx) < 1e-15) break;
            }
            {
                double p0 = 1, p1 = x;
                for (var k = 2; k <= n; k++) { var pk = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k; p0 = p1; p1 = pk; }
                dp = n == 1 ? 1 : n * (x * p1 - p0) / (x * x - 1);
            }
            var w = 2 / ((1 - x * x) * dp * dp);
            var j = n - 1 - i; // ascending order
            alphas[j] = (x + 1) / 2;
            weights[j] = w / 2;
        }
    }
}
