from django import forms
from django.contrib.auth import get_user_model, password_validation


class JoinForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="You sign in with this name.")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, existing_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing_user = existing_user
        if existing_user is not None:
            self.fields["username"].initial = existing_user.get_username()
            self.fields["username"].disabled = True

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        if self.existing_user is None and get_user_model().objects.filter(username__iexact=name).exists():
            raise forms.ValidationError("This name is taken; choose another.")
        return name

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            try:
                password_validation.validate_password(p1)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
